/*! NOUS feedback widget. One tag puts a feedback button on any page:
 *
 *   <script src="https://beta.nous.example/widget.js" defer
 *           data-endpoint="https://beta.nous.example/api/feedback"   (default: next to this script)
 *           data-position="bottom-right"      bottom-right | bottom-left | top-right | top-left | none
 *           data-features="calendar,voice"    optional list for an "About" menu
 *           data-feature="calendar"           optional preselected feature
 *           data-email="ada@example.com"      optional, prefills the email field
 *           data-tester-id="…" data-app-version="1.4.2"
 *           data-lang="de"                    built-in strings: en (default), de; any other tag marks the
 *                                             widget's language (strings from data-lang-*, else English)
 *           data-lang-button="Feedback"       any string overridden: data-lang-<name>, the names of STRINGS
 *                                             in kebab case (data-lang-category-bug, data-lang-failed-origin)
 *           data-trigger="#my-button"         optional: elements of the page that open the dialog
 *           data-accent="#4f46e5"></script>
 *
 * Shadow DOM keeps its styles apart from the page, and the page's fonts, spacing and line heights out
 * (see CSS below). No inline script or style is needed from the host:
 * styles are a constructed stylesheet (adoptedStyleSheets), the DOM is built with createElement, so it
 * runs under a strict CSP (also with Trusted Types). Requests never carry cookies (credentials: "omit").
 * The page only has to allow this origin in script-src and connect-src.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.NousFeedback) return;
  var data = script.dataset || {};

  var STRINGS = {
    en: {
      button: "Feedback",
      title: "Send feedback",
      intro: "Tell us what works and what doesn't. We read every message.",
      ratingLegend: "How is it going?",
      ratingLabel: "{n} of 5",
      category: "Type",
      categoryChoose: "Choose one…",
      categoryBug: "Something is broken",
      categoryIdea: "An idea",
      categoryPraise: "Something I like",
      categoryOther: "Something else",
      feature: "About",
      featureNone: "In general",
      message: "Your message",
      counter: "{n} of {max} characters",
      email: "Email (optional)",
      emailHint: "Only if you'd like an answer.",
      submit: "Send",
      sending: "Sending…",
      cancel: "Cancel",
      close: "Close",
      thanks: "Thank you!",
      thanksDetail: "Your feedback has been sent to the NOUS team.",
      another: "Send more",
      errorsSummary: "Please check the highlighted fields.",
      needRating: "Choose a rating from 1 to 5.",
      needCategory: "Choose what kind of feedback this is.",
      needMessage: "Write a few words.",
      badEmail: "This doesn't look like an email address.",
      failedNetwork: "Your feedback could not be sent: the server cannot be reached. Check your connection and try again.",
      failedServer: "Your feedback could not be sent (error {status}). Please try again in a moment.",
      failedOrigin: "Feedback can't be sent from this site.",
      tooMany: "You've sent a lot of feedback just now. Please try again in {minutes} min.",
      retry: "Try again",
    },
    de: {
      button: "Feedback",
      title: "Feedback senden",
      intro: "Sag uns, was funktioniert und was nicht. Wir lesen jede Nachricht.",
      ratingLegend: "Wie läuft es?",
      ratingLabel: "{n} von 5",
      category: "Art",
      categoryChoose: "Bitte wählen…",
      categoryBug: "Etwas ist kaputt",
      categoryIdea: "Eine Idee",
      categoryPraise: "Etwas gefällt mir",
      categoryOther: "Etwas anderes",
      feature: "Betrifft",
      featureNone: "Allgemein",
      message: "Deine Nachricht",
      counter: "{n} von {max} Zeichen",
      email: "E-Mail (optional)",
      emailHint: "Nur wenn du eine Antwort möchtest.",
      submit: "Senden",
      sending: "Wird gesendet…",
      cancel: "Abbrechen",
      close: "Schließen",
      thanks: "Danke!",
      thanksDetail: "Dein Feedback ist beim NOUS-Team angekommen.",
      another: "Noch etwas senden",
      errorsSummary: "Bitte prüfe die markierten Felder.",
      needRating: "Wähle eine Bewertung von 1 bis 5.",
      needCategory: "Wähle, worum es geht.",
      needMessage: "Schreib ein paar Worte.",
      badEmail: "Das sieht nicht wie eine E-Mail-Adresse aus.",
      failedNetwork: "Dein Feedback konnte nicht gesendet werden: der Server ist nicht erreichbar. Prüfe die Verbindung und versuche es noch einmal.",
      failedServer: "Dein Feedback konnte nicht gesendet werden (Fehler {status}). Bitte versuche es gleich noch einmal.",
      failedOrigin: "Von dieser Seite aus kann kein Feedback gesendet werden.",
      tooMany: "Du hast gerade viel Feedback gesendet. Bitte versuche es in {minutes} Min. noch einmal.",
      retry: "Noch einmal versuchen",
    },
  };
  var MESSAGE_MAX = 4000;
  var RETRY_DELAY_MS = 1000;

  function trim(s) { return String(s || "").trim(); }

  var lang = STRINGS[trim(data.lang).toLowerCase()] ? trim(data.lang).toLowerCase() : "en";
  var t = {};
  Object.keys(STRINGS.en).forEach(function (k) { t[k] = STRINGS[lang][k] || STRINGS.en[k]; });
  Object.keys(data).forEach(function (key) {  // data-lang-submit="Go" -> dataset.langSubmit -> t.submit
    if (key.length > 4 && key.indexOf("lang") === 0 && /[A-Z]/.test(key.charAt(4))) {
      var name = key.charAt(4).toLowerCase() + key.slice(5);
      if (Object.prototype.hasOwnProperty.call(t, name)) t[name] = String(data[key]);
    }
  });
  function fmt(s, values) {
    return String(s).replace(/\{(\w+)\}/g, function (m, k) { return values[k] === undefined ? m : values[k]; });
  }

  var scriptUrl = new URL(script.src, location.href);
  var endpoint;
  try { endpoint = new URL(data.endpoint || "/api/feedback", data.endpoint ? location.href : scriptUrl).href; }
  catch (e) { endpoint = new URL("/api/feedback", scriptUrl).href; }
  var position = ["bottom-right", "bottom-left", "top-right", "top-left", "none"].indexOf(trim(data.position)) >= 0
    ? trim(data.position) : "bottom-right";
  var features = trim(data.features).split(",").map(trim).filter(Boolean).slice(0, 50);
  var accent = /^#[0-9a-fA-F]{3,8}$/.test(trim(data.accent)) ? trim(data.accent) : "#4f46e5";

  var FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
  var CSS = [
    // The host page reaches the widget only through what its element inherits. Important declarations
    // of a shadow root win over the page's (even its !important ones), so the host element is reset
    // here and every element inside names its own font, spacing and line height. Sizes are in px:
    // rem would follow the page's root font size.
    ":host { all: initial !important; display: block !important; position: static !important; visibility: visible !important;",
    "  font: normal 400 15px/1.45 " + FONT + " !important; letter-spacing: normal !important; word-spacing: normal !important;",
    "  color: #1c2230 !important; direction: ltr !important; text-align: left !important; text-transform: none !important;",
    "  --nf-accent: " + accent + " !important; --nf-bg: #fff !important; --nf-ink: #1c2230 !important; --nf-ink-2: #4a5468 !important;",
    "  --nf-line: #d3d8e1 !important; --nf-error: #b91c1c !important; --nf-ok: #15803d !important; }",
    "*, *::before, *::after { box-sizing: border-box; font-family: " + FONT + "; font-size: inherit; font-style: normal;",
    "  font-variant: normal; font-weight: inherit; letter-spacing: normal; word-spacing: normal; line-height: inherit;",
    "  text-transform: none; text-indent: 0; text-shadow: none; }",
    ".launcher { position: fixed; z-index: 2147483000; display: inline-flex; align-items: center; gap: 7px;",
    "  padding: 11px 17px; border: 0; border-radius: 999px; background: var(--nf-accent); color: #fff;",
    "  font-family: inherit; font-size: 15px; font-weight: 600; line-height: 1.2; cursor: pointer; box-shadow: 0 6px 20px rgba(17,24,39,.25); }",
    ".launcher:hover { filter: brightness(1.08); }",
    ".launcher:focus-visible, button:focus-visible, select:focus-visible, textarea:focus-visible, input:focus-visible, label.star:focus-within {",
    "  outline: 3px solid var(--nf-accent); outline-offset: 2px; }",
    ".launcher svg { width: 18px; height: 18px; fill: currentColor; }",
    ".pos-bottom-right { right: 20px; bottom: 20px; } .pos-bottom-left { left: 20px; bottom: 20px; }",
    ".pos-top-right { right: 20px; top: 20px; } .pos-top-left { left: 20px; top: 20px; }",
    ".panel { position: fixed; z-index: 2147483001; margin: 0; padding: 0; border: 1px solid var(--nf-line); border-radius: 14px;",
    "  width: min(390px, calc(100vw - 24px)); max-width: none; max-height: calc(100vh - 24px); overflow: auto; background: var(--nf-bg); color: var(--nf-ink);",
    "  box-shadow: 0 18px 50px rgba(17,24,39,.28); font-size: 15px; line-height: 1.45; }",
    ".panel.at-bottom-right { right: 20px; bottom: 20px; left: auto; top: auto; } .panel.at-bottom-left { left: 20px; bottom: 20px; right: auto; top: auto; }",
    ".panel.at-top-right { right: 20px; top: 20px; left: auto; bottom: auto; } .panel.at-top-left { left: 20px; top: 20px; right: auto; bottom: auto; }",
    ".panel.at-none { left: 50%; top: 50%; transform: translate(-50%, -50%); }",
    ".panel:not([open]) { display: none; }",
    ".panel::backdrop { background: rgba(17,24,39,.25); }",
    ".body { padding: 16px 18.5px 17px; }",
    ".head { display: flex; justify-content: space-between; align-items: center; gap: 8px; }",
    "h2 { font-size: 18px; font-weight: 700; line-height: 1.3; margin: 0; }",
    ".intro { margin: 3px 0 12px; color: var(--nf-ink-2); font-size: 14px; }",
    ".x { border: 0; background: transparent; color: var(--nf-ink-2); font-size: 22.5px; line-height: 1; padding: 3px 7px; border-radius: 8px; cursor: pointer; }",
    ".x:hover { background: rgba(0,0,0,.06); }",
    "fieldset { border: 0; margin: 0 0 10.5px; padding: 0; min-width: 0; }",
    "legend { padding: 0; }",
    "legend, label.field-label { display: block; font-weight: 600; font-size: 14px; margin-bottom: 5px; color: var(--nf-ink); }",
    ".stars { display: flex; gap: 2.5px; }",
    "label.star { position: relative; cursor: pointer; font-size: 28px; line-height: 1; color: #cfd5df; padding: 1px 1.5px; border-radius: 6px; }",
    "label.star.on { color: #f59e0b; }",
    "label.star input { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }",
    ".sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }",
    ".field { margin-bottom: 10.5px; }",
    "select, textarea, input[type=email] { width: 100%; font: inherit; font-size: 15px; color: var(--nf-ink); background: var(--nf-bg);",
    "  border: 1px solid var(--nf-line); border-radius: 9px; padding: 8px 9.5px; }",
    "textarea { min-height: 88px; resize: vertical; }",
    "[aria-invalid=true] { border-color: var(--nf-error) !important; }",
    ".hint { color: var(--nf-ink-2); font-size: 13px; margin-top: 3px; }",
    ".err { color: var(--nf-error); font-size: 13.5px; margin: 4px 0 0; }",
    ".err:empty { display: none; }",
    ".alert { border-radius: 9px; padding: 9px 12px; background: #fdeaea; color: var(--nf-error); font-size: 14px; margin-bottom: 10.5px; }",
    ".alert:empty { display: none; }",
    ".status { font-size: 14px; color: var(--nf-ink-2); }",
    ".status:empty { display: none; }",
    ".hp { position: absolute; left: -10000px; top: auto; width: 1px; height: 1px; overflow: hidden; }",
    ".actions { display: flex; justify-content: flex-end; align-items: center; gap: 8px; margin-top: 6.5px; }",
    ".btn { font: inherit; font-size: 14.5px; font-weight: 600; border-radius: 9px; padding: 9px 16px; cursor: pointer; border: 1px solid var(--nf-line);",
    "  background: var(--nf-bg); color: var(--nf-ink); }",
    ".btn.primary { background: var(--nf-accent); border-color: var(--nf-accent); color: #fff; }",
    ".btn[disabled] { opacity: .65; cursor: progress; }",
    ".done { text-align: center; padding: 25.5px 19px 22.5px; }",
    ".done .mark { width: 48px; height: 48px; border-radius: 50%; background: #e7f6ec; color: var(--nf-ok); display: grid; place-items: center;",
    "  margin: 0 auto 11px; font-size: 25.5px; }",
    ".done h2:focus { outline: none; }",
    ".done p { color: var(--nf-ink-2); margin: 5.5px 0 17.5px; }",
    "[hidden] { display: none !important; }",
    "@media (max-width: 480px) { .panel { left: 8px !important; right: 8px !important; bottom: 8px !important; top: auto !important;",
    "  transform: none !important; width: calc(100vw - 16px); } }",
    "@media (prefers-color-scheme: dark) { :host { --nf-bg: #111827 !important; --nf-ink: #f3f4f6 !important;",
    "  --nf-ink-2: #c5cad3 !important; --nf-line: #374151 !important; }",
    "  .alert { background: #3b1212; color: #fca5a5; } .done .mark { background: #12301d; }",
    "  label.star { color: #4b5563; } label.star.on { color: #f59e0b; } }",
  ].join("\n");

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === false || v === null || v === undefined) return;
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  function icon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    return svg;
  }

  // --- build --------------------------------------------------------------------------------
  // The language the strings are in, for screen readers: data-lang as given (fr with data-lang-* overrides
  // is French even though only en and de are built in), else the built-in one used.
  var langTag = /^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/.test(trim(data.lang)) ? trim(data.lang) : lang;
  var host = el("nous-feedback", { "data-nous-widget": "", lang: langTag });
  var root = host.attachShadow({ mode: "open" });
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch (e) {  // browsers without constructable stylesheets (the host CSP must then allow the style)
    root.appendChild(el("style", { text: CSS }));
  }

  var uid = "nf" + Math.random().toString(36).slice(2, 8);
  function id(name) { return uid + "-" + name; }

  var launcher = el("button", {
    type: "button", "class": "launcher pos-" + position, "aria-haspopup": "dialog", "aria-expanded": "false",
    "aria-controls": id("dialog"),
  }, [icon(), el("span", { text: t.button })]);
  if (position === "none") launcher.hidden = true;

  var nativeDialog = typeof document.createElement("dialog").showModal === "function";
  var dialog = el(nativeDialog ? "dialog" : "div", {
    id: id("dialog"), "class": "panel at-" + position, "aria-labelledby": id("title"), "aria-describedby": id("intro"),
    role: nativeDialog ? null : "dialog", "aria-modal": nativeDialog ? null : "true",
  });

  var stars = [];
  var starBox = el("div", { "class": "stars" });
  for (var n = 1; n <= 5; n++) {
    var radio = el("input", { type: "radio", name: "rating", value: String(n) });
    var label = el("label", { "class": "star" }, [radio, el("span", { "aria-hidden": "true", text: "★" }),
      el("span", { "class": "sr", text: fmt(t.ratingLabel, { n: n }) })]);
    stars.push({ label: label, input: radio });
    starBox.appendChild(label);
  }
  var ratingErr = el("p", { "class": "err", id: id("err-rating") });
  var ratingSet = el("fieldset", { "aria-describedby": id("err-rating") }, [el("legend", { text: t.ratingLegend }), starBox, ratingErr]);

  var category = el("select", { id: id("category"), name: "category", required: true,
    "aria-describedby": id("err-category") }, [
    el("option", { value: "", selected: true, text: t.categoryChoose }),  // nothing preselected: the tester decides
    el("option", { value: "bug", text: t.categoryBug }), el("option", { value: "idea", text: t.categoryIdea }),
    el("option", { value: "praise", text: t.categoryPraise }), el("option", { value: "other", text: t.categoryOther }),
  ]);
  var categoryErr = el("p", { "class": "err", id: id("err-category") });
  var feature = null;
  if (features.length) {
    feature = el("select", { id: id("feature"), name: "feature" }, [el("option", { value: "", text: t.featureNone })]);
    features.forEach(function (f) { feature.appendChild(el("option", { value: f, text: f })); });
    if (features.indexOf(trim(data.feature)) >= 0) feature.value = trim(data.feature);
  }
  var message = el("textarea", { id: id("message"), name: "message", maxlength: MESSAGE_MAX, rows: 5, required: true,
    "aria-describedby": id("count") + " " + id("err-message") });
  var counter = el("div", { "class": "hint", id: id("count"), "aria-live": "off", text: fmt(t.counter, { n: 0, max: MESSAGE_MAX }) });
  var messageErr = el("p", { "class": "err", id: id("err-message") });
  var email = el("input", { id: id("email"), name: "email", type: "email", autocomplete: "email", maxlength: 320,
    "aria-describedby": id("email-hint") + " " + id("err-email") });
  if (trim(data.email)) email.value = trim(data.email);
  var emailErr = el("p", { "class": "err", id: id("err-email") });
  var honeypot = el("input", { id: id("website"), name: "website", type: "text", tabindex: "-1", autocomplete: "off" });
  var alertBox = el("div", { "class": "alert", role: "alert" });
  var statusBox = el("div", { "class": "status", role: "status", "aria-live": "polite" });
  var cancelBtn = el("button", { type: "button", "class": "btn", text: t.cancel });
  var submitBtn = el("button", { type: "submit", "class": "btn primary", text: t.submit });
  var closeX = el("button", { type: "button", "class": "x", "aria-label": t.close }, [el("span", { "aria-hidden": "true", text: "×" })]);

  var form = el("form", { "class": "body", novalidate: true }, [
    el("div", { "class": "head" }, [el("h2", { id: id("title"), text: t.title }), closeX]),
    el("p", { "class": "intro", id: id("intro"), text: t.intro }),
    ratingSet,
    el("div", { "class": "field" }, [el("label", { "for": id("category"), "class": "field-label", text: t.category }), category,
      categoryErr]),
    feature ? el("div", { "class": "field" }, [el("label", { "for": id("feature"), "class": "field-label", text: t.feature }), feature]) : null,
    el("div", { "class": "field" }, [el("label", { "for": id("message"), "class": "field-label", text: t.message }), message, counter, messageErr]),
    el("div", { "class": "field" }, [el("label", { "for": id("email"), "class": "field-label", text: t.email }), email,
      el("div", { "class": "hint", id: id("email-hint"), text: t.emailHint }), emailErr]),
    el("div", { "class": "hp", "aria-hidden": "true" }, [el("label", { "for": id("website"), text: "Website" }), honeypot]),
    alertBox,
    el("div", { "class": "actions" }, [statusBox, cancelBtn, submitBtn]),
  ]);
  var doneTitle = el("h2", { tabindex: "-1", text: t.thanks });
  var doneClose = el("button", { type: "button", "class": "btn primary", text: t.close });
  var doneAgain = el("button", { type: "button", "class": "btn", text: t.another });
  var done = el("div", { "class": "done", hidden: true }, [el("div", { "class": "mark", "aria-hidden": "true", text: "✓" }), doneTitle,
    el("p", { text: t.thanksDetail }), el("div", { "class": "actions" }, [doneAgain, doneClose])]);
  dialog.appendChild(form);
  dialog.appendChild(done);
  root.appendChild(launcher);
  root.appendChild(dialog);

  // --- behaviour ----------------------------------------------------------------------------
  var openedAt = 0;
  var returnFocus = null;
  var sending = false;

  function paintStars(upTo) {
    stars.forEach(function (s, i) { s.label.classList.toggle("on", i < upTo); });
  }
  function rating() {
    for (var i = 0; i < stars.length; i++) if (stars[i].input.checked) return i + 1;
    return 0;
  }
  stars.forEach(function (s, i) {
    s.input.addEventListener("change", function () { paintStars(rating()); setError(ratingErr, null, ""); });
    s.label.addEventListener("mouseenter", function () { paintStars(i + 1); });
    s.label.addEventListener("mouseleave", function () { paintStars(rating()); });
  });
  message.addEventListener("input", function () {
    counter.textContent = fmt(t.counter, { n: message.value.length, max: MESSAGE_MAX });
    if (trim(message.value)) setError(messageErr, message, "");
  });
  category.addEventListener("change", function () { if (category.value) setError(categoryErr, category, ""); });

  function setError(box, field, text) {
    box.textContent = text;
    if (field) {
      if (text) field.setAttribute("aria-invalid", "true");
      else field.removeAttribute("aria-invalid");
    }
  }
  function clearErrors() {
    setError(ratingErr, null, "");
    setError(categoryErr, category, "");
    setError(messageErr, message, "");
    setError(emailErr, email, "");
    alertBox.textContent = "";
  }

  function focusables() {
    var view = done.hidden ? form : done;
    return Array.prototype.filter.call(
      view.querySelectorAll("button, select, textarea, input, [tabindex]:not([tabindex='-1'])"),
      function (node) {
        if (node.disabled || node.closest(".hp") || node.getAttribute("tabindex") === "-1") return false;
        if (node.type === "radio" && !node.checked && (rating() || node.value !== "1")) return false;  // one stop per radio group
        return true;
      });
  }

  function isOpen() { return nativeDialog ? dialog.open : dialog.hasAttribute("open"); }

  function open() {
    if (isOpen()) return;
    var active = root.activeElement || document.activeElement;
    returnFocus = active && active !== document.body ? active : launcher;
    if (!done.hidden) reset();
    if (nativeDialog) dialog.showModal(); else dialog.setAttribute("open", "");
    launcher.setAttribute("aria-expanded", "true");
    openedAt = Date.now();
    var first = stars[(rating() || 1) - 1].input;
    first.focus();
  }

  function close() {
    if (!isOpen()) return;
    if (nativeDialog) dialog.close(); else dialog.removeAttribute("open");
    launcher.setAttribute("aria-expanded", "false");
    var target = returnFocus && returnFocus.isConnected ? returnFocus : launcher;
    if (target && !target.hidden) target.focus();
  }

  function reset() {
    form.reset();
    if (trim(data.email)) email.value = trim(data.email);
    if (feature && features.indexOf(trim(data.feature)) >= 0) feature.value = trim(data.feature);
    paintStars(0);
    counter.textContent = fmt(t.counter, { n: 0, max: MESSAGE_MAX });
    clearErrors();
    statusBox.textContent = "";
    done.hidden = true;
    form.hidden = false;
  }

  launcher.addEventListener("click", open);
  cancelBtn.addEventListener("click", close);
  closeX.addEventListener("click", close);
  doneClose.addEventListener("click", close);
  doneAgain.addEventListener("click", function () { reset(); openedAt = Date.now(); stars[0].input.focus(); });
  if (nativeDialog) {
    dialog.addEventListener("cancel", function (evt) { evt.preventDefault(); close(); });  // Esc
    dialog.addEventListener("click", function (evt) { if (evt.target === dialog) close(); });  // backdrop
  }
  dialog.addEventListener("keydown", function (evt) {
    if (evt.key === "Escape") { evt.preventDefault(); close(); return; }
    if (evt.key !== "Tab") return;
    var items = focusables();  // keep Tab inside the dialog while it is open
    if (!items.length) return;
    var current = root.activeElement;
    var i = items.indexOf(current);
    if (evt.shiftKey && (i <= 0)) { evt.preventDefault(); items[items.length - 1].focus(); }
    else if (!evt.shiftKey && (i === items.length - 1 || i === -1)) { evt.preventDefault(); items[0].focus(); }
  });

  function validate() {
    clearErrors();
    var firstBad = null;
    if (!rating()) { setError(ratingErr, null, t.needRating); firstBad = firstBad || stars[0].input; }
    if (!category.value) { setError(categoryErr, category, t.needCategory); firstBad = firstBad || category; }
    if (!trim(message.value)) { setError(messageErr, message, t.needMessage); firstBad = firstBad || message; }
    if (trim(email.value) && email.validity && email.validity.typeMismatch) { setError(emailErr, email, t.badEmail); firstBad = firstBad || email; }
    if (firstBad) { alertBox.textContent = t.errorsSummary; firstBad.focus(); }
    return !firstBad;
  }

  function payload() {
    var body = {
      rating: rating(), message: message.value, category: category.value,
      viewport: Math.round(window.innerWidth) + "x" + Math.round(window.innerHeight),
      elapsed_ms: Math.max(0, Date.now() - openedAt), website: honeypot.value,
    };
    if (feature && feature.value) body.feature = feature.value;
    else if (!feature && trim(data.feature)) body.feature = trim(data.feature).slice(0, 100);
    if (trim(email.value)) body.email = trim(email.value);
    if (/^https?:$/.test(location.protocol)) body.page_url = (location.origin + location.pathname).slice(0, 2000);
    if (trim(data.appVersion)) body.app_version = trim(data.appVersion).slice(0, 50);
    if (trim(data.testerId)) body.tester_id = trim(data.testerId);
    return body;
  }

  function post(body) {
    return fetch(endpoint, {
      method: "POST", mode: "cors", credentials: "omit", cache: "no-store", referrerPolicy: "strict-origin-when-cross-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body),
    });
  }

  function sendWithRetry(body) {  // one retry, after a pause, when the network or a gateway failed
    return post(body).then(function (resp) {
      if ([502, 503, 504].indexOf(resp.status) >= 0) throw { retryable: true, resp: resp };
      return resp;
    }).catch(function (err) {
      if (err && err.resp === undefined && !(err instanceof TypeError)) throw err;
      return new Promise(function (resolve) { setTimeout(resolve, RETRY_DELAY_MS); }).then(function () { return post(body); });
    });
  }

  function showServerErrors(errors) {
    var firstBad = null;
    var map = { rating: [ratingErr, null, stars[0].input], category: [categoryErr, category, category],
      message: [messageErr, message, message], email: [emailErr, email, email] };
    Object.keys(errors || {}).forEach(function (field) {
      var target = map[field];
      if (target) { setError(target[0], target[1], errors[field]); firstBad = firstBad || target[2]; }
    });
    alertBox.textContent = t.errorsSummary + (firstBad ? "" : " (" + Object.keys(errors || {}).join(", ") + ")");
    (firstBad || submitBtn).focus();
  }

  function finish(ok) {
    sending = false;
    submitBtn.disabled = false;
    submitBtn.textContent = ok ? t.submit : t.retry;
    statusBox.textContent = "";
  }

  form.addEventListener("submit", function (evt) {
    evt.preventDefault();
    if (sending || !validate()) return;
    sending = true;
    submitBtn.disabled = true;
    submitBtn.textContent = t.sending;
    statusBox.textContent = t.sending;
    alertBox.textContent = "";
    sendWithRetry(payload()).then(function (resp) {
      if (resp.status === 201) {
        finish(true);
        form.hidden = true;
        done.hidden = false;
        doneTitle.focus();
        return;
      }
      return resp.json().catch(function () { return {}; }).then(function (body) {
        finish(false);
        if (resp.status === 400 && body && body.errors) showServerErrors(body.errors);
        else if (resp.status === 429) {
          var wait = parseInt(resp.headers.get("Retry-After") || "60", 10);
          alertBox.textContent = fmt(t.tooMany, { minutes: Math.max(1, Math.ceil((isNaN(wait) ? 60 : wait) / 60)) });
        } else if (resp.status === 403) {  // this site is not allowed: trying again will not help
          alertBox.textContent = t.failedOrigin;
          submitBtn.textContent = t.submit;
        }
        else alertBox.textContent = fmt(t.failedServer, { status: resp.status });
        submitBtn.focus();
      });
    }).catch(function (err) {
      finish(false);
      alertBox.textContent = err && err.resp ? fmt(t.failedServer, { status: err.resp.status }) : t.failedNetwork;
      submitBtn.focus();
    });
  });

  function mount() {
    document.body.appendChild(host);
    var sel = trim(data.trigger);
    if (sel) {
      try {
        document.querySelectorAll(sel).forEach(function (node) {
          node.addEventListener("click", function (evt) { evt.preventDefault(); open(); });
        });
      } catch (e) { /* an invalid selector: the launcher still works */ }
    }
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  window.NousFeedback = { open: open, close: close, version: "1.1.0" };
})();
