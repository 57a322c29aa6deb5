/* Small enhancements; without this script every page works as it is.
   Character count: shows how many characters are left as the person types. The visible count
   updates at once; screen readers hear it through a polite live region only after typing
   pauses, so it does not chatter on every key. Without the script the hint states the limit.
   Conditional reveal: a checkbox that shows a field says so (aria-controls, aria-expanded),
   as GOV.UK's checkboxes do; CSS shows and hides the field, with or without the script. */
(function () {
  "use strict";
  var lang = document.documentElement.lang || "kk";
  var plural = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;

  /* Put `template` in `el` with {n} as a count, the server's way (format_count in
     kiosk/i18n.py): no group separator below 10 000, which a voice reads as digits
     ("2 000", two zero zero zero); above, the grouped number is seen and the plain one heard.
     The separator is the server's (data-group): Chromium's Intl has no Kazakh digits data
     and would write 12,500 where the server writes 12 500. */
  function show(el, template, n, separator) {
    var parts = template.split("{n}");
    el.textContent = parts[0];
    if (n < 10000 || !separator) {
      el.appendChild(document.createTextNode(String(n)));
    } else {
      var seen = el.appendChild(document.createElement("span"));
      seen.setAttribute("aria-hidden", "true");
      seen.textContent = String(n).replace(/\B(?=(\d{3})+$)/g, separator);
      var heard = el.appendChild(document.createElement("span"));
      heard.className = "visually-hidden";
      heard.textContent = String(n);
    }
    el.appendChild(document.createTextNode(parts.slice(1).join("{n}")));
  }

  function template(box, count) {
    var kind = count < 0 ? "data-over-" : "data-left-";
    var n = Math.abs(count);
    var category = plural ? plural.select(n) : (n === 1 ? "one" : "other");
    return box.getAttribute(kind + category) || box.getAttribute(kind + "other");
  }

  function characterCount(group) {
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
      var words = template(info, remaining);
      show(info, words, Math.abs(remaining), group.getAttribute("data-group"));
      info.classList.toggle("error-message", remaining < 0);
      clearTimeout(timer);
      if (announce) {  // never seen: the plain number only
        timer = setTimeout(function () { live.textContent = words.replace("{n}", Math.abs(remaining)); }, 1000);
      }
    }
    textarea.addEventListener("input", function () { update(true); });
    update(false);
  }

  function conditionalReveal(input) {
    var panel = document.getElementById(input.getAttribute("data-aria-controls"));
    if (!panel) { return; }
    input.setAttribute("aria-controls", panel.id);
    function update() {
      input.setAttribute("aria-expanded", String(getComputedStyle(panel).display !== "none"));
    }
    input.addEventListener("change", update);
    update();
  }

  [].forEach.call(document.querySelectorAll("[data-module='character-count']"), characterCount);
  [].forEach.call(document.querySelectorAll("input[data-aria-controls]"), conditionalReveal);
})();
