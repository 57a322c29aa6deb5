/* Supporting documents: a progress bar while files upload. Without this script the form
   posts as it is and the browser shows its own progress; with it, the same POST goes by
   XMLHttpRequest so the page can show how far it is. Screen readers hear the progress at
   25 %, 50 %, 75 % and 100 % through a polite live region (not every percent: that would
   talk over everything else). When the upload ends, the <main> the server answered takes
   the place of this one: with an error summary, focus goes to it (as autofocus does on a
   page load); with the files listed, to <main>, read from the top as a new page would be.
   A lost connection is said and shown, and Upload works again (it is never disabled: a
   disabled button loses focus). Listened for on the document, so the form in a new <main>
   works the same; the form's address is read from its attribute, as form.action is its
   button named "action". */
(function () {
  "use strict";
  var busy = false;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    if (!form.matches("form[data-upload]") || !button || button.value !== "upload") { return; }
    event.preventDefault();
    if (busy) { return; }  // one upload at a time
    var status = document.getElementById("upload-status");
    var bar = document.getElementById("upload-progress");
    var heard = 0;
    var xhr = new XMLHttpRequest();
    var failed = function () {
      busy = false;
      bar.hidden = true;
      status.textContent = bar.dataset.failed;
    };
    xhr.open("POST", form.getAttribute("action"));
    xhr.upload.onprogress = function (progress) {
      if (!progress.lengthComputable) { return; }
      bar.value = Math.floor(progress.loaded * 100 / progress.total);
      while (heard < 4 && bar.value >= 25 * (heard + 1)) {
        heard += 1;
        status.textContent = bar.dataset.said.replace("{n}", 25 * heard);
      }
    };
    xhr.onload = function () {
      busy = false;
      var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var main = page.querySelector("main");
      if (!main) { failed(); return; }
      if (new URL(xhr.responseURL).pathname !== location.pathname) {
        location.assign(xhr.responseURL);  // sent on elsewhere (the draft ended)
        return;
      }
      document.title = page.title;
      document.querySelector("main").replaceWith(main);
      (main.querySelector(".error-summary") || main).focus();
    };
    xhr.onerror = failed;
    var data = new FormData(form);
    data.append("action", "upload");
    busy = true;
    status.textContent = "";
    bar.value = 0;
    bar.hidden = false;  // at once, as the key or click is still fresh: no layout shift counts
    xhr.send(data);
  });
})();
