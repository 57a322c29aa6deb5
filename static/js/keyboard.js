/* On-screen keyboard for kiosks (no physical keyboard). Opens below a focused text field with
   the layout the field asks for (digits, phone, e-mail) or the page's language. Keys are
   buttons: a touch types at the caret and leaves focus in the field; Tab (a switch) and arrows
   reach every key, Enter types it; a polite live region says what was typed. An OS keyboard
   or a real one still works. Key names come from #keyboard-labels (translated). */
(function () {
  "use strict";
  var names = document.getElementById("keyboard-labels"), main = document.getElementById("main");
  if (!names || !main || !main.closest) { return; }
  // Rows split by "|". Capitals are keys: Shift, Backspace, sPace, Close, Enter (new line),
  // Z ".kz", and the layouts Kazakh, Russian, Latin, Numbers (digits and signs).
  var KEYS = { S: "shift", B: "back", P: "space", C: "close", E: "enter", Z: "kz", K: "kk", R: "ru", L: "en", N: "num" };
  var SHOW = { shift: "⇧", back: "⌫", enter: "↵", kz: ".kz", kk: "Қаз", ru: "Рус", en: "Lat", num: "123" };
  var RU = "йцукенгшщзхъ|фывапролджэ|SячсмитьбюёB|KRLN,P.C";
  var LAYOUTS = {
    kk: "әіңғүұқөһ|" + RU, ru: RU, en: "qwertyuiop|asdfghjkl|SzxcvbnmB|KRLN,P.C",
    num: "1234567890|-/:;()«»\"'|?!№%+=@*&B|KRLN,P.C",
    digits: "123|456|789|B0C", tel: "123|456|789|+0-|()PBC",
    email: "1234567890|qwertyuiop|asdfghjkl|zxcvbnmB|@._-ZC",
    code: "1234567890|qwertyuiop|asdfghjkl|zxcvbnmB|-C" // a return code: digits, Latin, dash
  };
  var page = document.documentElement.lang, chosen = page === "kk" || page === "ru" ? page : "en";
  var field = null, layout = "", letterLang = "", built = "", shift = false, quiet = false, count = 0;
  var panel = make("div", "osk"), live = make("div", "visually-hidden");
  panel.setAttribute("role", "group");
  panel.setAttribute("aria-label", name("keyboard"));
  panel.hidden = true;
  live.setAttribute("aria-live", "polite");
  main.appendChild(panel);
  main.appendChild(live);

  function name(key) { return names.getAttribute("data-" + key) || key; }
  function make(tag, cls) { var el = document.createElement(tag); el.className = cls; return el; }
  function isField(el) {
    return !!el && !!el.matches && el.matches("input:not([type]), input[type=text], input[type=tel], input[type=email], input[type=search], textarea")
      && main.contains(el) && !el.readOnly && !el.disabled;
  }
  function letters(b, on) { var c = b.getAttribute("data-c"); b.textContent = on ? c.toUpperCase() : c; }

  function key(t) {
    var b = make("button", "osk__key"), k = KEYS[t];
    b.type = "button";
    if (!k) {
      b.setAttribute("data-c", t);
      if (letterLang) { b.setAttribute("lang", letterLang); } // read by the right voice
      letters(b, false);
      return b;
    }
    b.className += " osk__key--" + k;
    b.setAttribute("data-k", k);
    b.textContent = SHOW[k] || name(k);
    if (SHOW[k] && k !== "kz") { b.setAttribute("aria-label", LAYOUTS[k] ? SHOW[k] + ", " + name(k) : name(k)); }
    if (LAYOUTS[k] || k === "shift") { b.setAttribute("aria-pressed", String(k === layout)); }
    return b;
  }

  function render(which) {
    var text = LAYOUTS[which], big = field.tagName === "TEXTAREA";
    layout = which;
    built = which + big;
    shift = false;
    panel.textContent = "";
    letterLang = /^(kk|ru|en)$/.test(which) ? which : "";
    if (big && /P\.C$/.test(text)) { text = text.replace(/C$/, "EC"); }
    text.split("|").forEach(function (row) {
      var line = make("div", "osk__row");
      row.split("").forEach(function (t) { line.appendChild(key(t)); });
      panel.appendChild(line);
    });
  }

  function open(f) {
    var asked = f.getAttribute("data-keyboard");
    var want = LAYOUTS[asked] && asked !== "num" ? asked : f.getAttribute("inputmode") === "numeric" ? "digits" : /^(tel|email)$/.test(f.type) ? f.type : chosen;
    field = f;
    if (f.nextSibling !== panel) { f.parentNode.insertBefore(panel, f.nextSibling); }
    if (built !== want + (f.tagName === "TEXTAREA")) { render(want); }
    panel.hidden = false;
    document.body.style.paddingBottom = panel.offsetHeight + "px";
    // Keep the field, with its label and count if they fit, between the top and the panel.
    var room = window.innerHeight - panel.offsetHeight, group = f.closest(".form-group");
    var r = (group && group.offsetHeight < room - 24 ? group : f).getBoundingClientRect();
    window.scrollBy(0, Math.min(Math.max(r.bottom + 16 - room, 0), r.top - 8));
  }

  function close(refocus) {
    panel.hidden = true;
    document.body.style.paddingBottom = "";
    if (refocus && field) { quiet = true; field.focus(); quiet = false; }
  }

  function say(text, lang) {
    if (lang) { live.setAttribute("lang", lang); } else { live.removeAttribute("lang"); }
    count += 1;
    live.textContent = text + (count % 2 ? "" : "\u200b"); // a key pressed twice is heard twice
  }

  // Put text at the caret (null: delete before it), as typing would, then tell listeners.
  function type(text) {
    var v = field.value, a = field.selectionStart, b = field.selectionEnd;
    if (a === null) { a = b = v.length; } // e-mail fields have no caret API
    if (text === null) {
      if (a === b) { if (!a) { return false; } a -= 1; }
      text = "";
    } else if (field.maxLength >= 0 && v.length - (b - a) + text.length > field.maxLength) {
      return false;
    }
    field.value = v.slice(0, a) + text + v.slice(b);
    try { field.setSelectionRange(a + text.length, a + text.length); } catch (e) { /* e-mail */ }
    field.dispatchEvent(new Event("input", { bubbles: true }));
    return true;
  }

  function press(b) {
    var c = b.getAttribute("data-c"), k = b.getAttribute("data-k");
    if (c) {
      c = shift ? c.toUpperCase() : c;
      if (type(c)) { say(c, letterLang); }
      if (shift) { press(panel.querySelector("[data-k=shift]")); }
    } else if (k === "shift") {
      shift = !shift;
      b.setAttribute("aria-pressed", String(shift));
      [].forEach.call(panel.querySelectorAll("[data-c]"), function (el) { letters(el, shift); });
    } else if (k === "close") {
      close(panel.contains(document.activeElement));
    } else if (LAYOUTS[k]) {
      var focused = panel.contains(document.activeElement);
      chosen = k;
      render(k);
      if (focused) { panel.querySelector("[data-k=" + k + "]").focus(); }
      say(name(k));
    } else if (type({ space: " ", enter: "\n", kz: ".kz", back: null }[k])) {
      say(k === "kz" ? ".kz" : name(k));
    }
  }

  // Arrows: left and right through all keys, up and down to the nearest key in the next row.
  function move(b, dir) {
    var keys = [].slice.call(panel.querySelectorAll("button")), i = keys.indexOf(b), to = null, best = 1e9;
    if (dir === "Home" || dir === "End") { to = b.parentNode[dir === "Home" ? "firstChild" : "lastChild"]; }
    else if (/Left|Right/.test(dir)) { to = keys[(i + (/Left/.test(dir) ? keys.length - 1 : 1)) % keys.length]; }
    else {
      var row = b.parentNode[/Up/.test(dir) ? "previousSibling" : "nextSibling"], x = middle(b);
      for (var n = row && row.firstChild; n; n = n.nextSibling) {
        if (Math.abs(middle(n) - x) < best) { best = Math.abs(middle(n) - x); to = n; }
      }
    }
    if (to) { to.focus(); }
  }
  function middle(el) { var r = el.getBoundingClientRect(); return r.left + r.width / 2; }

  // A touch or click on the panel must not take focus (or the caret) from the field.
  panel.addEventListener("pointerdown", function (e) { e.preventDefault(); });
  panel.addEventListener("mousedown", function (e) { e.preventDefault(); });
  panel.addEventListener("click", function (e) {
    var b = e.target.closest("button");
    if (b && field) { press(b); }
  });
  panel.addEventListener("keydown", function (e) {
    if (/^(Arrow|Home|End)/.test(e.key)) { e.preventDefault(); move(e.target, e.key); }
  });
  document.addEventListener("keydown", function (e) {
    var at = document.activeElement;
    if (e.key === "Escape" && !panel.hidden && (at === field || panel.contains(at))) { close(true); }
  });
  document.addEventListener("focusin", function (e) {
    if (isField(e.target) && !quiet) { open(e.target); }
  });
  document.addEventListener("focusout", function () {
    setTimeout(function () {
      var at = document.activeElement;
      if (!panel.hidden && !isField(at) && !panel.contains(at)) { close(false); }
    }, 0);
  });
  // Touching the field again brings back a closed panel.
  document.addEventListener("click", function (e) {
    if (panel.hidden && isField(e.target) && e.target === document.activeElement) { open(e.target); }
  });
  // An OS keyboard took the lower part of the screen: step aside.
  if (window.visualViewport) {
    window.visualViewport.addEventListener("resize", function () {
      var v = window.visualViewport;
      if (!panel.hidden && v.height * v.scale < window.innerHeight * 0.7) { close(false); }
    });
  }
  // Loaded on demand (keyboard-loader.js) after a field took focus: open for it now.
  if (isField(document.activeElement)) { open(document.activeElement); }
})();
