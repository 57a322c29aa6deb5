/* Kiosk idle warning. After KIOSK_IDLE_SECONDS without a touch or a key, a modal dialog
   takes focus and says the answers will be deleted; "I need more time" keeps them (as
   often as needed) and tells the server, which otherwise forgets the draft on its own
   clock. The time left is announced when the dialog opens and at 30, 10 and 5 seconds,
   not every second. When time runs out, the page posts the reset form: the server
   deletes the draft and tells the browser to clear its cache, storage and cookies. */
(function () {
  "use strict";
  var dialog = document.getElementById("idle-warning");
  if (!dialog || typeof dialog.showModal !== "function") { return; }
  var idleMs = parseInt(dialog.getAttribute("data-idle-seconds"), 10) * 1000;
  var grace = parseInt(dialog.getAttribute("data-grace-seconds"), 10);
  var lang = document.documentElement.lang || "kk";
  var plural = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;
  var live = dialog.querySelector(".idle-warning__time");
  var more = dialog.querySelector(".idle-warning__more");
  var count = document.createElement("p");
  count.className = "idle-warning__count";
  count.setAttribute("aria-hidden", "true");
  live.parentNode.insertBefore(count, live);
  var idleTimer = null, tick = null, left = 0, lastPing = Date.now();
  var ANNOUNCE_AT = [30, 10, 5];

  function message(n) {
    var category = plural ? plural.select(n) : (n === 1 ? "one" : "other");
    var text = dialog.getAttribute("data-left-" + category) || dialog.getAttribute("data-left-other");
    return text.replace("{n}", n.toLocaleString(lang));
  }

  function keepAlive(now) {
    var form = dialog.querySelector(".idle-warning__keep");
    lastPing = Date.now();
    if (window.fetch && form) {
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .catch(function () { /* offline: the next touch tries again */ });
    }
  }

  function restart() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(warn, idleMs);
  }

  function activity() {
    if (dialog.open) { return; }
    restart();
    if (Date.now() - lastPing > 60000) { keepAlive(); }  // at most once a minute
  }

  function warn() {
    left = grace;
    count.textContent = String(left);
    dialog.showModal();
    more.focus();
    live.textContent = message(left);
    tick = setInterval(function () {
      left -= 1;
      count.textContent = String(Math.max(left, 0));
      if (left <= 0) { clearInterval(tick); end(); return; }
      if (ANNOUNCE_AT.indexOf(left) !== -1) { live.textContent = message(left); }
    }, 1000);
  }

  function extend() {
    clearInterval(tick);
    live.textContent = "";
    dialog.close();
    keepAlive();
    restart();
  }

  function end() {
    try { window.sessionStorage.clear(); window.localStorage.clear(); } catch (e) { /* none */ }
    dialog.querySelector(".idle-warning__end").submit();
  }

  more.addEventListener("click", extend);
  dialog.addEventListener("cancel", function (event) { event.preventDefault(); extend(); });
  ["pointerdown", "keydown", "input", "wheel", "touchstart"].forEach(function (type) {
    document.addEventListener(type, activity, { capture: true, passive: true });
  });
  restart();
})();
