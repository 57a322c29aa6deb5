/* Supporting documents: a progress bar while files upload. Without this script the form
   posts as it is and the browser shows its own progress; with it, the same POST goes by
   XMLHttpRequest so the page can show how far it is. Screen readers hear the progress at
   25 %, 50 %, 75 % and 100 % through a polite live region (not every percent: that would
   talk over everything else). When the upload ends, the page the server answered is shown:
   the list of files after a redirect, or the same page with its messages. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-upload]");
  if (!form || !window.FormData || !window.XMLHttpRequest) { return; }
  var status = document.getElementById("upload-status");
  var bar = document.getElementById("upload-progress");
  var steps = [25, 50, 75, 100];

  function say(text) { status.textContent = text; }

  function show(xhr) {
    if (xhr.responseURL && xhr.responseURL.split("#")[0] !== form.action.split("#")[0]) {
      window.location.assign(xhr.responseURL);
      return;
    }
    var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
    var main = page.querySelector("main");
    if (!main) { form.submit(); return; }
    document.title = page.title;
    document.querySelector("main").replaceWith(main);
    var summary = main.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  }

  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (!button || button.value !== "upload") { return; }
    event.preventDefault();
    var data = new FormData(form);
    data.append("action", "upload");
    var heard = 0;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (progress) {
      if (!progress.lengthComputable) { return; }
      var percent = Math.floor(progress.loaded * 100 / progress.total);
      bar.hidden = false;
      bar.value = percent;
      while (heard < steps.length && percent >= steps[heard]) {
        say(bar.getAttribute("data-said").replace("{n}", String(steps[heard])));
        heard += 1;
      }
    });
    xhr.addEventListener("load", function () { show(xhr); });
    xhr.addEventListener("error", function () { say(bar.getAttribute("data-failed")); });
    button.disabled = true;
    xhr.send(data);
  });
})();
