/* Character count: shows how many characters are left as the person types.
   The visible count updates at once; screen readers hear it through a polite
   live region only after typing pauses, so it does not chatter on every key.
   Without this script the hint still states the limit. */
(function () {
  "use strict";
  var lang = document.documentElement.lang || "kk";
  var plural = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;

  function message(box, count) {
    var over = count < 0;
    var n = Math.abs(count);
    var category = plural ? plural.select(n) : (n === 1 ? "one" : "other");
    var key = (over ? "data-over-" : "data-left-") + category;
    var text = box.getAttribute(key) || box.getAttribute((over ? "data-over-" : "data-left-") + "other");
    return text.replace("{n}", n.toLocaleString(lang));
  }

  function setUp(group) {
    var limit = parseInt(group.getAttribute("data-limit"), 10);
    var textarea = group.querySelector("textarea");
    var info = group.querySelector(".character-count__message");
    if (!textarea || !info || !limit) { return; }
    var live = document.createElement("div");
    live.className = "visually-hidden";
    live.setAttribute("aria-live", "polite");
    group.appendChild(live);
    var timer = null;
    function update(announce) {
      var remaining = limit - textarea.value.length;
      var text = message(info, remaining);
      info.textContent = text;
      info.classList.toggle("error-message", remaining < 0);
      clearTimeout(timer);
      if (announce) { timer = setTimeout(function () { live.textContent = text; }, 1000); }
    }
    textarea.addEventListener("input", function () { update(true); });
    update(false);
  }

  var groups = document.querySelectorAll("[data-module='character-count']");
  for (var i = 0; i < groups.length; i++) { setUp(groups[i]); }
})();
