/* Loads the on-screen keyboard (keyboard.js and keyboard.css) the first time a text field
   in the page takes focus, so pages carry it only when someone is about to type. */
(function () {
  "use strict";
  var me = document.currentScript;
  var FIELDS = "input:not([type]), input[type=text], input[type=tel], input[type=email], " +
    "input[type=search], textarea";
  var loaded = false;

  function load(event) {
    var target = event.target;
    if (loaded || !target.matches || !target.matches(FIELDS) || !target.closest("main")) { return; }
    loaded = true;
    var style = document.createElement("link");
    style.rel = "stylesheet";
    style.href = me.getAttribute("data-css");
    document.head.appendChild(style);
    var script = document.createElement("script");
    script.src = me.getAttribute("data-js");
    document.head.appendChild(script);
  }

  document.addEventListener("focusin", load);
})();
