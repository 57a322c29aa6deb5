/* Read aloud / Stop / Repeat at the top of <main>: speaks the h1, the error summary, then each
   visible label, legend, hint, option and error, in the page's language; never what was typed
   (form controls are skipped). The server speaks with espeak-ng (few browsers speak Kazakh),
   in pieces under its limit; if it cannot, the browser's own voice does. */
(function () {
  "use strict";
  var data = document.getElementById("speech-labels");
  var main = document.querySelector("main");
  if (!data || !main || !window.Audio) { return; }
  var lang = document.documentElement.lang || "kk";
  var LIMIT = 300; /* characters a request: under the server's 1,500, and quick to start */
  var WANTED = "h1,.error-summary__title,.error-summary__list li,label,legend,.hint,.error-message,.panel__body";
  var SKIP = "input,textarea,select,option,button,script,template,[aria-hidden='true']";
  var box = document.createElement("div");
  box.className = "button-group read-aloud";
  function button(name) {
    var b = box.appendChild(document.createElement("button"));
    b.type = "button";
    b.className = "button button--secondary read-aloud__" + name;
    b.textContent = data.getAttribute("data-" + name);
    return b;
  }
  var read = button("read"), stopButton = button("stop"), repeat = button("repeat");
  read.setAttribute("aria-pressed", "false");
  main.insertBefore(box, main.firstChild);

  function textOf(el) { /* text nodes, none inside a form control */
    var out = "";
    for (var n = el.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === 3) { out += n.nodeValue; }
      else if (n.nodeType === 1 && !n.matches(SKIP)) { out += " " + textOf(n) + " "; }
    }
    out = out.replace(/\s+/g, " ").trim();
    return !out || /[.!?…:;]$/.test(out) ? out : out + ".";
  }

  function pageText() { /* the heading first, then the error summary, then the rest in order */
    var heading = [], summary = [], rest = [], taken = [];
    [].forEach.call(main.querySelectorAll(WANTED), function (el) {
      if (box.contains(el) || !el.getClientRects().length ||
          getComputedStyle(el).visibility === "hidden" ||
          taken.some(function (t) { return t.contains(el); })) { return; }
      taken.push(el);
      var text = textOf(el);
      if (!text) { return; }
      if (el.matches("h1") || el.querySelector("h1") || el.closest("h1")) { heading.push(text); }
      else if (el.closest(".error-summary")) { summary.push(text); } else { rest.push(text); }
    });
    return heading.concat(summary, rest).join(" ");
  }

  function chunksOf(text) { /* pieces of at most LIMIT, cut after a sentence, else a word */
    var out = [];
    while (text.length > LIMIT) {
      var head = text.slice(0, LIMIT + 1);
      var cut = Math.max(head.lastIndexOf(". "), head.lastIndexOf("? "), head.lastIndexOf("! "));
      cut = cut > LIMIT / 3 ? cut + 1 : head.lastIndexOf(" ");
      if (cut < 1) { cut = LIMIT; }
      out.push(text.slice(0, cut).trim());
      text = text.slice(cut).trim();
    }
    if (text) { out.push(text); }
    return out;
  }

  var chunks = [], audios = [], index = 0, run = 0, playing = false, paused = false;
  var browserVoice = false; /* once the server could not speak, the browser speaks */

  function audioFor(i) {
    return audios[i] || (audios[i] = new Audio(data.getAttribute("data-url") + "?lang=" +
      encodeURIComponent(lang) + "&text=" + encodeURIComponent(chunks[i])));
  }

  function setPlaying(on) {
    playing = on;
    read.setAttribute("aria-pressed", String(on));
  }

  function play(i, id) {
    if (id !== run) { return; }
    index = i;
    if (i >= chunks.length) { index = 0; paused = false; setPlaying(false); return; }
    if (browserVoice) { speakInBrowser(i, id); return; }
    var audio = audioFor(i);
    if (i + 1 < chunks.length) { audioFor(i + 1); } /* loads while this one plays */
    function failed() {
      if (id === run) { browserVoice = true; speakInBrowser(i, id); }
    }
    audio.onended = function () { play(i + 1, id); };
    audio.onerror = failed;
    if (audio.error) { failed(); return; }
    var started = audio.play();
    if (started) { started.catch(function (e) { if (e.name !== "AbortError") { failed(); } }); }
  }

  var KAZAKH = "ӘәІіҢңҒғҮүҰұҚқӨөҺһ", RUSSIAN = "АаИиНнГгУуУуКкОоХх";
  function forVoice(text) { /* a Russian voice drops Kazakh letters: give it Russian ones */
    if (lang !== "ru") { return text; }
    return text.replace(/[ӘәІіҢңҒғҮүҰұҚқӨөҺһ]/g, function (c) { return RUSSIAN[KAZAKH.indexOf(c)]; });
  }

  function speakInBrowser(i, id) {
    var synth = window.speechSynthesis;
    if (!synth || !window.SpeechSynthesisUtterance) { setPlaying(false); return; }
    var u = new SpeechSynthesisUtterance(forVoice(chunks[i]));
    u.lang = lang;
    u.voice = synth.getVoices().filter(function (v) {
      return v.lang.toLowerCase().split(/[-_]/)[0] === lang;
    })[0] || null;
    u.onend = function () { play(i + 1, id); };
    u.onerror = function () { if (id === run) { setPlaying(false); } };
    synth.speak(u);
  }

  function stop() {
    run++;
    if (playing) { paused = true; }
    setPlaying(false);
    if (audios[index]) { audios[index].pause(); }
    if (window.speechSynthesis) { window.speechSynthesis.cancel(); }
  }

  function start(from) {
    stop();
    paused = false;
    if (!chunks.length) { return; }
    setPlaying(true);
    play(from, run);
  }

  function fromTheTop() {
    var words = chunksOf(pageText());
    if (words.join("\n") !== chunks.join("\n")) { chunks = words; audios = []; }
    audios.forEach(function (a) { a.currentTime = 0; }); /* the same audio again: no requests */
    start(0);
  }

  read.addEventListener("click", function () {
    if (playing) { stop(); } else if (paused) { start(index); } else { fromTheTop(); }
  });
  stopButton.addEventListener("click", stop);
  repeat.addEventListener("click", fromTheTop);
  window.addEventListener("pagehide", stop);
})();
