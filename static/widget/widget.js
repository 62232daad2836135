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
 *           data-accent="#4f46e5"
 *           data-max-attachments="5"          images a tester may attach (0 turns attachments off)
 *           data-image-max-side="1920"        longer images are scaled down in the browser before upload
 *           data-image-quality="0.85"         JPEG quality of the uploaded images
 *                                             (the console's own limits, read from <endpoint>/config when the
 *                                             dialog first opens, come first: the page may only lower the count
 *                                             and the longest side; without data-image-quality the console's
 *                                             quality is used; files over its byte limits are not sent)
 *           data-capture="auto"></script>     "Capture this page": auto | tab | off (see below)
 *
 * Shadow DOM keeps its styles apart from the page, and the page's fonts, spacing and line heights out
 * (see CSS below). No inline script or style is needed from the host:
 * styles are a constructed stylesheet (adoptedStyleSheets), the DOM is built with createElement, so it
 * runs under a strict CSP (also with Trusted Types). Requests never carry cookies (credentials: "omit").
 * The page only has to allow this origin in script-src and connect-src.
 *
 * Attachments: images come from a file picker, the clipboard or a drop, are decoded with createImageBitmap
 * and shown on canvases (never through <img>, which the page's img-src would govern), scaled down and edited
 * there; only the edited canvas, exported as JPEG, is uploaded (multipart/form-data through XMLHttpRequest,
 * for its upload progress). "Capture this page" first tries html-to-image (vendored in static/vendor/,
 * loaded from this origin only when asked). It renders the page as an SVG <foreignObject> drawn through an
 * image from a data: URL, so it needs the page's img-src to allow data:; under a strict policy the widget
 * asks the browser to share the tab instead (getDisplayMedia) and takes one frame of it.
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
      attachments: "Screenshots (optional)",
      attachCount: "{n}/{max}",
      attachHint: "Choose images, paste or drop them here. You can black out private details before sending.",
      attachAdd: "Add image",
      attachCapture: "Capture this page",
      attachCapturing: "Capturing…",
      attachOpen: "Edit image {n}: {name}",
      attachRemove: "Remove image {n}: {name}",
      attachAdded: "{name} attached ({n} of {max}).",
      attachRemoved: "{name} removed ({n} of {max}).",
      attachTooMany: "You can attach up to {max} images.",
      attachNotImage: "{name} can't be attached: it is not an image this browser can read.",
      attachPasted: "Pasted image",
      attachPage: "This page",
      captureFailed: "This page could not be captured. Attach a screenshot instead.",
      captureAgain: "Press “Capture this page” once more and choose this tab to share it.",
      captureCancelled: "Nothing was captured.",
      editorTitle: "Edit image {n}",
      editorIntro: "Draw boxes over anything private. Black boxes are burnt into the image; the original never leaves this page.",
      editorTool: "Box",
      editorRedact: "Black out",
      editorHighlight: "Highlight",
      editorUndo: "Undo box",
      editorDone: "Done",
      editorCanvas: "Image {n}, boxes drawn: {count}",
      editorRole: "image editor",
      editorHelp: "Drag across the image to draw a box. Keyboard: Enter places a box, arrow keys move it, Shift with the arrow keys resizes it, Enter keeps it, Escape drops it.",
      editorPlaced: "Box placed. Arrow keys move it, Shift with the arrow keys resizes it, Enter keeps it.",
      editorAdded: "Box kept: {count} on this image.",
      editorUndone: "Box removed: {count} on this image.",
      uploading: "Uploading images…",
      failedTooLarge: "The images are too large to send. Remove one or attach smaller ones.",
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
      attachments: "Screenshots (optional)",
      attachCount: "{n}/{max}",
      attachHint: "Bilder auswählen, einfügen oder hierher ziehen. Private Details kannst du vor dem Senden schwärzen.",
      attachAdd: "Bild hinzufügen",
      attachCapture: "Diese Seite aufnehmen",
      attachCapturing: "Wird aufgenommen…",
      attachOpen: "Bild {n} bearbeiten: {name}",
      attachRemove: "Bild {n} entfernen: {name}",
      attachAdded: "{name} angehängt ({n} von {max}).",
      attachRemoved: "{name} entfernt ({n} von {max}).",
      attachTooMany: "Du kannst bis zu {max} Bilder anhängen.",
      attachNotImage: "{name} kann nicht angehängt werden: es ist kein Bild, das dieser Browser lesen kann.",
      attachPasted: "Eingefügtes Bild",
      attachPage: "Diese Seite",
      captureFailed: "Die Seite konnte nicht aufgenommen werden. Hänge stattdessen einen Screenshot an.",
      captureAgain: "Drück noch einmal auf „Diese Seite aufnehmen“ und gib diesen Tab frei.",
      captureCancelled: "Es wurde nichts aufgenommen.",
      editorTitle: "Bild {n} bearbeiten",
      editorIntro: "Zieh Rahmen über alles Private. Schwarze Rahmen werden ins Bild eingebrannt; das Original verlässt diese Seite nie.",
      editorTool: "Rahmen",
      editorRedact: "Schwärzen",
      editorHighlight: "Hervorheben",
      editorUndo: "Rahmen zurücknehmen",
      editorDone: "Fertig",
      editorCanvas: "Bild {n}, gezeichnete Rahmen: {count}",
      editorRole: "Bildeditor",
      editorHelp: "Zieh über das Bild, um einen Rahmen zu zeichnen. Tastatur: Enter setzt einen Rahmen, Pfeiltasten verschieben ihn, Umschalt mit Pfeiltasten ändert die Größe, Enter behält ihn, Escape verwirft ihn.",
      editorPlaced: "Rahmen gesetzt. Pfeiltasten verschieben ihn, Umschalt mit Pfeiltasten ändert die Größe, Enter behält ihn.",
      editorAdded: "Rahmen behalten: {count} auf diesem Bild.",
      editorUndone: "Rahmen entfernt: {count} auf diesem Bild.",
      uploading: "Bilder werden hochgeladen…",
      failedTooLarge: "Die Bilder sind zu groß zum Senden. Entferne eins oder hänge kleinere an.",
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
  function setting(value, fallback, low, high) {
    var x = parseFloat(trim(value));
    return isFinite(x) && x >= low && x <= high ? x : fallback;
  }
  // What the page asks for; the console's limits (loadLimits) may lower the count and the side further.
  var pageLimits = { max: Math.floor(setting(data.maxAttachments, 20, 0, 20)),
    side: Math.floor(setting(data.imageMaxSide, 8192, 240, 8192)), quality: setting(data.imageQuality, null, 0.3, 1) };
  var MAX_ATTACHMENTS = Math.min(pageLimits.max, 5);  // the console's defaults until it has answered
  var IMAGE_MAX_SIDE = Math.min(pageLimits.side, 1920);
  var IMAGE_QUALITY = pageLimits.quality === null ? 0.85 : pageLimits.quality;
  var FILE_BYTES = Infinity, TOTAL_BYTES = Infinity;
  var CONFIG_URL = endpoint.replace(/[?#].*$/, "").replace(/\/+$/, "") + "/config";
  var LIMITS_WAIT_MS = 4000;
  var CAPTURE = ["auto", "tab", "off"].indexOf(trim(data.capture)) >= 0 ? trim(data.capture) : "auto";
  var CAPTURE_LIB = new URL("static/vendor/html-to-image-1.11.13.min.js", scriptUrl).href;

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
    "legend, .field-label { display: block; font-weight: 600; font-size: 14px; margin-bottom: 5px; color: var(--nf-ink); }",
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
    // attachments: the section, its thumbnails and buttons
    ".attach { border: 1px dashed transparent; border-radius: 11px; margin: 0 -6px 10.5px; padding: 4px 6px 6px; }",
    ".attach.dropping { border-color: var(--nf-accent); background: rgba(79,70,229,.06); }",
    ".attach-head { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; }",
    ".attach-head .field-label { margin-bottom: 2px; }",
    ".attach-count { color: var(--nf-ink-2); font-size: 13px; }",
    ".thumbs { list-style: none; margin: 8px 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 8px; }",
    ".thumbs:empty { display: none; }",
    ".thumb { position: relative; width: 76px; }",
    ".thumb-open { display: block; width: 76px; height: 56px; padding: 0; border: 1px solid var(--nf-line); border-radius: 8px;",
    "  overflow: hidden; background: #f3f4f6; cursor: pointer; }",
    ".thumb-open canvas { display: block; width: 100%; height: 100%; }",
    ".thumb-open:hover { border-color: var(--nf-accent); }",
    ".thumb-name { display: block; margin-top: 2px; font-size: 11.5px; line-height: 1.3; color: var(--nf-ink-2); overflow: hidden;",
    "  text-overflow: ellipsis; white-space: nowrap; }",
    ".thumb-remove { position: absolute; top: -7px; right: -7px; width: 24px; height: 24px; padding: 0; border-radius: 50%;",
    "  border: 2px solid var(--nf-bg); background: #374151; color: #fff; font-size: 15px; line-height: 1; cursor: pointer;",
    "  display: grid; place-items: center; }",
    ".thumb-remove:hover { background: var(--nf-error); }",
    ".attach-actions { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }",
    ".btn.small { display: inline-flex; align-items: center; gap: 6px; font-size: 13.5px; padding: 6px 11px; border-radius: 8px; }",
    ".btn.small svg { width: 16px; height: 16px; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }",
    ".btn.small[disabled] { cursor: not-allowed; }",
    ".progress { margin: 0 0 10.5px; }",
    ".progress-label { display: block; font-size: 13px; color: var(--nf-ink-2); margin-bottom: 3px; }",
    "progress { display: block; width: 100%; height: 8px; border: 0; border-radius: 99px; overflow: hidden; background: #e5e7eb; appearance: none; }",
    "progress::-webkit-progress-bar { background: #e5e7eb; } progress::-webkit-progress-value { background: var(--nf-accent); }",
    "progress::-moz-progress-bar { background: var(--nf-accent); }",
    // the editor: the panel widens while it is open
    ".panel.wide { width: min(760px, calc(100vw - 24px)); }",
    ".editor { padding: 16px 18.5px 17px; }",
    ".editor h2:focus { outline: none; }",
    ".tools { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin-bottom: 10px; }",
    ".tool[aria-pressed=true] { background: var(--nf-ink); border-color: var(--nf-ink); color: var(--nf-bg); }",
    ".tool .swatch { display: inline-block; width: 13px; height: 13px; border-radius: 3px; background: #000; border: 1px solid #9ca3af; }",
    ".tool .swatch.hl { background: rgba(245,158,11,.35); border: 2px solid #f59e0b; }",
    ".tools .spacer { flex: 1; }",
    ".stage { display: grid; place-items: center; background: repeating-conic-gradient(#eef0f3 0 25%, #f8f9fb 0 50%) 0 0 / 16px 16px;",
    "  border: 1px solid var(--nf-line); border-radius: 10px; padding: 8px; }",
    ".stage canvas { display: block; max-width: 100%; max-height: calc(100vh - 330px); min-height: 60px; width: auto; height: auto;",
    "  cursor: crosshair; touch-action: none; box-shadow: 0 1px 4px rgba(17,24,39,.18); }",
    ".stage canvas:focus-visible { outline: 3px solid var(--nf-accent); outline-offset: 3px; }",
    ":host(.nf-capturing) .panel, :host(.nf-capturing) .launcher { visibility: hidden !important; }",
    ":host(.nf-capturing) .panel::backdrop { background: transparent; }",
    "[hidden] { display: none !important; }",
    "@media (max-width: 480px) { .panel { left: 8px !important; right: 8px !important; bottom: 8px !important; top: auto !important;",
    "  transform: none !important; width: calc(100vw - 16px); } }",
    "@media (prefers-color-scheme: dark) { :host { --nf-bg: #111827 !important; --nf-ink: #f3f4f6 !important;",
    "  --nf-ink-2: #c5cad3 !important; --nf-line: #374151 !important; }",
    "  .alert { background: #3b1212; color: #fca5a5; } .done .mark { background: #12301d; }",
    "  label.star { color: #4b5563; } label.star.on { color: #f59e0b; } .thumb-open { background: #1f2937; }",
    "  progress, progress::-webkit-progress-bar { background: #374151; } .stage { background: #1f2937; } }",
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

  var ICONS = {
    speech: "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z",
    image: "M4 4h16v16H4z M4 16l5-5 4 4 3-3 4 4 M15 8.5a.5.5 0 1 0 0 .01",
    capture: "M3 8V5a2 2 0 0 1 2-2h3 M16 3h3a2 2 0 0 1 2 2v3 M21 16v3a2 2 0 0 1-2 2h-3 M8 21H5a2 2 0 0 1-2-2v-3 M8 9h8v6H8z",
    undo: "M9 14L4 9l5-5 M4 9h11a5 5 0 0 1 0 10h-3",
  };
  function icon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name || "speech"]);
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
  // attachments (built even when turned off, then hidden: the code below needs no special cases)
  var fileInput = el("input", { type: "file", multiple: true, accept: "image/png,image/jpeg,image/webp,image/gif", hidden: true,
    tabindex: "-1", "aria-hidden": "true" });
  var addBtn = el("button", { type: "button", "class": "btn small" }, [icon("image"), el("span", { text: t.attachAdd })]);
  var captureLabel = el("span", { text: t.attachCapture });
  var captureBtn = el("button", { type: "button", "class": "btn small", hidden: CAPTURE === "off" }, [icon("capture"), captureLabel]);
  var thumbs = el("ul", { "class": "thumbs", "aria-labelledby": id("att-label") });
  var attachCount = el("span", { "class": "attach-count", "aria-hidden": "true" });
  var attachErr = el("p", { "class": "err", id: id("err-attachments"), role: "alert" });
  var attachStatus = el("p", { "class": "sr", role: "status", "aria-live": "polite" });
  var attachBox = el("div", { "class": "attach", role: "group", "aria-labelledby": id("att-label"),
    "aria-describedby": id("att-hint") + " " + id("err-attachments"), hidden: MAX_ATTACHMENTS === 0 }, [
    el("div", { "class": "attach-head" }, [el("span", { "class": "field-label", id: id("att-label"), text: t.attachments }), attachCount]),
    el("div", { "class": "hint", id: id("att-hint"), text: t.attachHint }),
    thumbs,
    el("div", { "class": "attach-actions" }, [addBtn, captureBtn]),
    fileInput, attachErr, attachStatus,
  ]);
  var progress = el("progress", { max: "100", value: "0", "aria-labelledby": id("progress-label") });
  var progressBox = el("div", { "class": "progress", hidden: true }, [
    el("span", { "class": "progress-label", id: id("progress-label"), text: t.uploading }), progress]);
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
    attachBox,
    el("div", { "class": "hp", "aria-hidden": "true" }, [el("label", { "for": id("website"), text: "Website" }), honeypot]),
    progressBox,
    alertBox,
    el("div", { "class": "actions" }, [statusBox, cancelBtn, submitBtn]),
  ]);
  var doneTitle = el("h2", { tabindex: "-1", text: t.thanks });
  var doneClose = el("button", { type: "button", "class": "btn primary", text: t.close });
  var doneAgain = el("button", { type: "button", "class": "btn", text: t.another });
  var done = el("div", { "class": "done", hidden: true }, [el("div", { "class": "mark", "aria-hidden": "true", text: "✓" }), doneTitle,
    el("p", { text: t.thanksDetail }), el("div", { "class": "actions" }, [doneAgain, doneClose])]);
  // the editor: shown instead of the form while the tester draws boxes on one image
  var editorTitle = el("h2", { tabindex: "-1", id: id("editor-title") });
  var redactBtn = el("button", { type: "button", "class": "btn small tool", "aria-pressed": "true" }, [
    el("span", { "class": "swatch", "aria-hidden": "true" }), el("span", { text: t.editorRedact })]);
  var highlightBtn = el("button", { type: "button", "class": "btn small tool", "aria-pressed": "false" }, [
    el("span", { "class": "swatch hl", "aria-hidden": "true" }), el("span", { text: t.editorHighlight })]);
  var undoBtn = el("button", { type: "button", "class": "btn small", disabled: true }, [icon("undo"), el("span", { text: t.editorUndo })]);
  var editorCanvas = el("canvas", { tabindex: "0", role: "application", "aria-roledescription": t.editorRole,
    "aria-describedby": id("editor-help") });
  var editorStatus = el("p", { "class": "sr", role: "status", "aria-live": "polite" });
  var editorDone = el("button", { type: "button", "class": "btn primary", text: t.editorDone });
  var editor = el("div", { "class": "editor", hidden: true, role: "group", "aria-labelledby": id("editor-title") }, [
    el("div", { "class": "head" }, [editorTitle]),
    el("p", { "class": "intro", text: t.editorIntro }),
    el("div", { "class": "tools", role: "group", "aria-label": t.editorTool }, [redactBtn, highlightBtn,
      el("span", { "class": "spacer" }), undoBtn]),
    el("div", { "class": "stage" }, [editorCanvas]),
    el("p", { "class": "hint", id: id("editor-help"), text: t.editorHelp }),
    editorStatus,
    el("div", { "class": "actions" }, [editorDone]),
  ]);
  dialog.appendChild(form);
  dialog.appendChild(editor);
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
    var view = !editor.hidden ? editor : done.hidden ? form : done;
    return Array.prototype.filter.call(
      view.querySelectorAll("button, select, textarea, input, [tabindex]:not([tabindex='-1'])"),
      function (node) {
        if (node.disabled || node.closest(".hp") || node.getAttribute("tabindex") === "-1") return false;
        if (node.closest("[hidden]")) return false;
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
    loadLimits();
    var first = stars[(rating() || 1) - 1].input;
    first.focus();
  }

  function close() {
    if (!isOpen()) return;
    closeEditor(false);
    if (nativeDialog) dialog.close(); else dialog.removeAttribute("open");
    launcher.setAttribute("aria-expanded", "false");
    var target = returnFocus && returnFocus.isConnected ? returnFocus : launcher;
    if (target && !target.hidden) target.focus();
  }

  function reset() {
    form.reset();
    clearAttachments();
    closeEditor(false);
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
    dialog.addEventListener("cancel", function (evt) {  // Esc: leaves the editor first, then the dialog
      evt.preventDefault();
      if (!editor.hidden) closeEditor(true); else close();
    });
    dialog.addEventListener("click", function (evt) { if (evt.target === dialog) close(); });  // backdrop
  }
  dialog.addEventListener("keydown", function (evt) {
    if (evt.key === "Escape") {
      evt.preventDefault();
      if (!editor.hidden) closeEditor(true); else close();
      return;
    }
    if (evt.key !== "Tab") return;
    var items = focusables();  // keep Tab inside the dialog while it is open
    if (!items.length) return;
    var current = root.activeElement;
    var i = items.indexOf(current);
    if (evt.shiftKey && (i <= 0)) { evt.preventDefault(); items[items.length - 1].focus(); }
    else if (!evt.shiftKey && (i === items.length - 1 || i === -1)) { evt.preventDefault(); items[0].focus(); }
  });

  // --- attachments ----------------------------------------------------------------------------
  // Each item keeps its working image (already scaled to IMAGE_MAX_SIDE) and the boxes drawn on it, in
  // the working image's pixels. Only exportAttachments() output leaves the page: the image with its boxes
  // burnt in, as JPEG.
  var items = [];
  var nextItem = 1;

  function canvasOf(width, height) {
    var c = document.createElement("canvas");
    c.width = Math.max(1, Math.round(width));
    c.height = Math.max(1, Math.round(height));
    return c;
  }

  // The source drawn no larger than IMAGE_MAX_SIDE on its longer side, on white: JPEG has no transparency,
  // and the tester should see what will be sent (transparent parts would otherwise turn black).
  function scaled(source, width, height) {
    var ratio = Math.min(1, IMAGE_MAX_SIDE / Math.max(width, height));
    var c = canvasOf(width * ratio, height * ratio);
    var ctx = c.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(source, 0, 0, c.width, c.height);
    return c;
  }

  function drawBox(ctx, box, pending) {
    var w = Math.max(ctx.canvas.width, ctx.canvas.height);
    ctx.save();
    if (box.kind === "redact") {
      ctx.fillStyle = "#000";
      ctx.fillRect(box.x, box.y, box.w, box.h);
    } else {
      ctx.fillStyle = "rgba(245,158,11,0.18)";
      ctx.fillRect(box.x, box.y, box.w, box.h);
      ctx.lineWidth = Math.max(3, w / 320);
      ctx.strokeStyle = "#f59e0b";
      ctx.strokeRect(box.x, box.y, box.w, box.h);
    }
    if (pending) {  // the box being drawn or placed: a dashed outline that shows on dark and light
      ctx.lineWidth = Math.max(2, w / 480);
      ctx.setLineDash([ctx.lineWidth * 4, ctx.lineWidth * 3]);
      ctx.strokeStyle = "#fff";
      ctx.strokeRect(box.x, box.y, box.w, box.h);
      ctx.lineDashOffset = ctx.lineWidth * 3.5;
      ctx.strokeStyle = accent;
      ctx.strokeRect(box.x, box.y, box.w, box.h);
    }
    ctx.restore();
  }

  function render(item, target, pendingBox) {  // the image with its boxes, fitted to target (cover for thumbnails)
    var ctx = target.getContext("2d");
    var img = item.image;
    if (target.width === img.width && target.height === img.height) {
      ctx.drawImage(img, 0, 0);
      item.boxes.forEach(function (b) { drawBox(ctx, b, false); });
      if (pendingBox) drawBox(ctx, pendingBox, true);
      return target;
    }
    var flat = render(item, canvasOf(img.width, img.height), null);
    var ratio = Math.max(target.width / img.width, target.height / img.height);
    var w = img.width * ratio, h = img.height * ratio;
    ctx.clearRect(0, 0, target.width, target.height);
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(flat, (target.width - w) / 2, (target.height - h) / 2, w, h);
    return target;
  }

  function exportAttachments() {
    return Promise.all(items.map(function (item) {
      return new Promise(function (resolve) {
        render(item, canvasOf(item.image.width, item.image.height), null).toBlob(function (blob) {
          resolve({ blob: blob, filename: item.filename });
        }, "image/jpeg", IMAGE_QUALITY);
      });
    }));
  }

  // Letters and digits of any script are kept (a name in Cyrillic or Japanese stays readable for the admin); a
  // browser without Unicode property escapes keeps ASCII ones only.
  var UNSAFE_NAME = (function () {
    try { return new RegExp("[^\\p{L}\\p{M}\\p{N}_.\\- ]+", "gu"); } catch (e) { return /[^\w.\- ]+/g; }
  })();
  function fileName(name, n) {  // what the server is told: the given name as .jpg (what is sent is JPEG)
    var base = String(name || "").replace(/\.[A-Za-z0-9]{1,5}$/, "").replace(UNSAFE_NAME, "_").replace(/^[\s._]+/, "");
    base = Array.from(base).slice(0, 80).join("");  // whole characters: a cut never splits a surrogate pair
    return (base || "image-" + n) + ".jpg";
  }

  function updateAttachments() {
    changed();
    thumbs.textContent = "";
    items.forEach(function (item, i) {
      var n = i + 1;
      var thumb = canvasOf(152, 112);
      thumb.setAttribute("aria-hidden", "true");
      render(item, thumb, null);
      var openBtn = el("button", { type: "button", "class": "thumb-open", "aria-label": fmt(t.attachOpen, { n: n, name: item.name }) }, [thumb]);
      var removeBtn = el("button", { type: "button", "class": "thumb-remove", "aria-label": fmt(t.attachRemove, { n: n, name: item.name }) },
        [el("span", { "aria-hidden": "true", text: "×" })]);
      openBtn.addEventListener("click", function () { openEditor(item); });
      removeBtn.addEventListener("click", function () { removeItem(item); });
      item.openBtn = openBtn;
      thumbs.appendChild(el("li", { "class": "thumb" }, [openBtn,
        el("span", { "class": "thumb-name", "aria-hidden": "true", text: item.name }), removeBtn]));
    });
    attachCount.textContent = fmt(t.attachCount, { n: items.length, max: MAX_ATTACHMENTS });
    var full = items.length >= MAX_ATTACHMENTS;
    addBtn.disabled = full;
    captureBtn.disabled = full;
  }

  // The console's limits, asked for once when the dialog first opens (GET <endpoint>/config, any origin, no
  // credentials). Until they are known, or when they cannot be had, the page's values and the defaults hold
  // (the console still refuses what it does not take, and says why).
  // An answer is applied whenever it comes; the first images wait for it at most LIMITS_WAIT_MS, once (a
  // console that is slow to answer delays nothing after that). One that failed is asked for again next time.
  var limitsLoaded = null, limitsAwaited = null;
  function loadLimits() {
    if (!limitsLoaded) {
      var asked = window.fetch ? fetch(CONFIG_URL, { mode: "cors", credentials: "omit", headers: { Accept: "application/json" } })
        .then(function (resp) { return resp.ok ? resp.json() : null; }) : Promise.resolve(null);
      limitsLoaded = asked.then(function (body) {
        if (body && body.attachments) applyLimits(body.attachments); else limitsLoaded = null;
      }, function () { limitsLoaded = null; });
    }
    if (!limitsAwaited) {
      limitsAwaited = Promise.race([limitsLoaded, new Promise(function (resolve) { setTimeout(resolve, LIMITS_WAIT_MS); })]);
    }
    return limitsAwaited;
  }

  function applyLimits(a) {
    function num(v, low, high) { return typeof v === "number" && isFinite(v) && v >= low && v <= high ? v : null; }
    var max = num(a.max, 0, 1000), side = num(a.image_max_side, 16, 16384), quality = num(a.image_quality, 0.05, 1);
    if (max !== null) MAX_ATTACHMENTS = Math.min(pageLimits.max, Math.floor(max));
    if (side !== null) IMAGE_MAX_SIDE = Math.min(pageLimits.side, Math.floor(side));
    if (quality !== null && pageLimits.quality === null) IMAGE_QUALITY = quality;
    FILE_BYTES = num(a.max_file_bytes, 1, Infinity) || Infinity;
    TOTAL_BYTES = num(a.max_total_bytes, 1, Infinity) || Infinity;
    attachBox.hidden = MAX_ATTACHMENTS === 0;
    updateAttachments();
  }

  function megabytes(n) { return n >= 100000 ? (n / 1000000).toFixed(1) + " MB" : Math.ceil(n / 1000) + " kB"; }

  // What the console would refuse for its size, said before anything is sent ("" when all fit): the
  // general message, then each file too large with its size and the limit (names and figures need no words).
  function tooLarge(files) {
    var total = 0, said = [];
    files.forEach(function (f, i) {
      total += f.blob.size;
      if (f.blob.size > FILE_BYTES) said.push((items[i] ? items[i].name : f.filename) + ": " + megabytes(f.blob.size) + " > " + megabytes(FILE_BYTES));
    });
    if (said.length) return t.failedTooLarge + " (" + said.join("; ") + ")";
    return total > TOTAL_BYTES ? t.failedTooLarge + " (" + megabytes(total) + " > " + megabytes(TOTAL_BYTES) + ")" : "";
  }

  function clearAttachments() {
    items = [];
    setError(attachErr, null, "");
    attachStatus.textContent = "";
    updateAttachments();
  }

  function addImage(source, width, height, name) {
    if (items.length >= MAX_ATTACHMENTS) { setError(attachErr, null, fmt(t.attachTooMany, { max: MAX_ATTACHMENTS })); return null; }
    var n = nextItem++;
    var item = { image: scaled(source, width, height), boxes: [], name: name, filename: fileName(name, n) };
    items.push(item);
    updateAttachments();
    attachStatus.textContent = fmt(t.attachAdded, { name: name, n: items.length, max: MAX_ATTACHMENTS });
    return item;
  }

  function removeItem(item) {
    var i = items.indexOf(item);
    if (i < 0) return;
    items.splice(i, 1);
    updateAttachments();
    setError(attachErr, null, "");
    attachStatus.textContent = fmt(t.attachRemoved, { name: item.name, n: items.length, max: MAX_ATTACHMENTS });
    var next = thumbs.querySelectorAll(".thumb-remove")[Math.min(i, items.length - 1)];
    (next || addBtn).focus();  // focus stays in the list, or goes to the button that adds one
  }

  // Files from the picker, the clipboard or a drop. The browser decodes them (createImageBitmap): whatever
  // it cannot decode as an image is not attached, whatever its name or declared type.
  function addFiles(list) {
    var files = Array.prototype.slice.call(list || []);
    if (!files.length) return Promise.resolve();
    setError(attachErr, null, "");
    var problems = [];  // every file not attached is named, not only the last one
    function say(text) {
      if (problems.indexOf(text) < 0) problems.push(text);
      setError(attachErr, null, problems.join(" "));
    }
    return files.reduce(function (chain, file) {  // after the console's limits are known (or given up on)
      return chain.then(function () {
        if (items.length >= MAX_ATTACHMENTS) { say(fmt(t.attachTooMany, { max: MAX_ATTACHMENTS })); return; }
        var name = file.name && !/^image\.(png|jpe?g|gif|webp)$/i.test(file.name) ? file.name : t.attachPasted;
        return (window.createImageBitmap ? createImageBitmap(file) : Promise.reject(new Error("no decoder"))).then(function (bitmap) {
          addImage(bitmap, bitmap.width, bitmap.height, name);
          if (bitmap.close) bitmap.close();
        }, function () {
          say(fmt(t.attachNotImage, { name: file.name || t.attachPasted }));
        });
      });
    }, loadLimits());
  }

  function filesIn(transfer) {
    if (!transfer) return [];
    if (transfer.files && transfer.files.length) return Array.prototype.slice.call(transfer.files);
    return Array.prototype.filter.call(transfer.items || [], function (it) { return it.kind === "file"; })
      .map(function (it) { return it.getAsFile(); }).filter(Boolean);
  }
  function carriesFiles(transfer) {
    return !!transfer && Array.prototype.indexOf.call(transfer.types || [], "Files") >= 0;
  }

  addBtn.addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    addFiles(fileInput.files).then(function () { fileInput.value = ""; });
  });
  dialog.addEventListener("paste", function (evt) {
    if (!MAX_ATTACHMENTS || !form.isConnected || form.hidden) return;
    var files = filesIn(evt.clipboardData).filter(function (f) { return /^image\//.test(f.type) || !f.type; });
    if (!files.length) return;
    var types = Array.prototype.slice.call(evt.clipboardData.types || []);
    if (types.indexOf("text/plain") < 0) evt.preventDefault();  // an image alone: nothing to paste as text
    addFiles(files);
  });
  dialog.addEventListener("dragover", function (evt) {
    if (!MAX_ATTACHMENTS || !carriesFiles(evt.dataTransfer)) return;
    evt.preventDefault();
    evt.dataTransfer.dropEffect = "copy";
    attachBox.classList.add("dropping");
  });
  dialog.addEventListener("dragleave", function (evt) {
    if (!evt.relatedTarget || !dialog.contains(evt.relatedTarget)) attachBox.classList.remove("dropping");
  });
  dialog.addEventListener("drop", function (evt) {
    attachBox.classList.remove("dropping");
    if (!MAX_ATTACHMENTS || !carriesFiles(evt.dataTransfer)) return;
    evt.preventDefault();
    addFiles(filesIn(evt.dataTransfer));
  });

  // --- capture this page ------------------------------------------------------------------------
  var capturing = false;
  var domCaptureBlocked = CAPTURE === "tab";
  var ttPolicy = null;

  function setCapturing(on) {
    capturing = on;
    captureLabel.textContent = on ? t.attachCapturing : t.attachCapture;
    captureBtn.setAttribute("aria-busy", on ? "true" : "false");
    updateAttachments();
  }

  function hideWidget(on) { host.classList.toggle("nf-capturing", on); }

  function afterPaint(ms) {  // two frames and a moment, so what is captured no longer shows the widget
    return new Promise(function (resolve) {
      requestAnimationFrame(function () { requestAnimationFrame(function () { setTimeout(resolve, ms); }); });
    });
  }

  // Can this page draw an image from a data: URL? html-to-image needs it; a page whose img-src leaves
  // data: out cannot be captured that way (the browser reports the blocked probe on its console).
  function dataImagesAllowed() {
    return new Promise(function (resolve) {
      var probe = new Image();
      probe.onload = function () { resolve(true); };
      probe.onerror = function () { resolve(false); };
      probe.src = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E";
    });
  }

  function scriptUrlFor(url) {  // pages that require Trusted Types get the one URL this widget loads, through its policy
    if (!window.trustedTypes || !window.trustedTypes.createPolicy) return url;
    if (!ttPolicy) {
      ttPolicy = window.trustedTypes.createPolicy("nous-feedback", { createScriptURL: function (u) {
        if (u !== CAPTURE_LIB) throw new TypeError("The feedback widget loads no other script");
        return u;
      } });
    }
    return ttPolicy.createScriptURL(url);
  }

  var captureLib = null;
  function loadCaptureLib() {  // html-to-image, from this widget's origin, once, without leaving a global behind
    if (captureLib) return Promise.resolve(captureLib);
    return new Promise(function (resolve, reject) {
      var before = window.htmlToImage;
      var tag = document.createElement("script");
      tag.src = scriptUrlFor(CAPTURE_LIB);
      tag.async = true;
      tag.onload = function () {
        captureLib = window.htmlToImage && window.htmlToImage !== before ? window.htmlToImage : null;
        if (before === undefined) { try { delete window.htmlToImage; } catch (e) { window.htmlToImage = undefined; } }
        else window.htmlToImage = before;
        tag.remove();
        if (captureLib) resolve(captureLib); else reject(new Error("html-to-image did not load"));
      };
      tag.onerror = function () { tag.remove(); reject(new Error("html-to-image could not be loaded")); };
      (document.head || document.documentElement).appendChild(tag);
    });
  }

  function captureDom() {  // the visible part of the page, rendered from its DOM, without the widget
    return dataImagesAllowed().then(function (allowed) {
      if (!allowed) throw new Error("img-src does not allow data:");
      return loadCaptureLib();
    }).then(function (lib) {
      var page = document.body;
      var box = page.getBoundingClientRect();
      var bg = getComputedStyle(document.documentElement).backgroundColor;
      if (!bg || bg === "rgba(0, 0, 0, 0)" || bg === "transparent") bg = getComputedStyle(page).backgroundColor;
      if (!bg || bg === "rgba(0, 0, 0, 0)" || bg === "transparent") bg = "#fff";
      var sx = Math.max(0, -box.left), sy = Math.max(0, -box.top);
      // At least the window's size from where it is scrolled to: a body shorter than the window (an app
      // whose content is fixed-position dialogs and bars) is drawn down to the window's bottom edge.
      var size = { width: Math.max(box.width, sx + window.innerWidth), height: Math.max(box.height, sy + window.innerHeight) };
      return lib.toCanvas(page, { pixelRatio: 1, backgroundColor: bg, width: size.width, height: size.height,
        filter: function (node) { return node !== host; } })
        .then(function (full) {
          var w = Math.min(window.innerWidth, full.width - sx), h = Math.min(window.innerHeight, full.height - sy);
          if (w < 1 || h < 1) throw new Error("nothing to capture");
          var view = canvasOf(w, h);
          view.getContext("2d").drawImage(full, sx, sy, w, h, 0, 0, w, h);
          return view;
        });
    });
  }

  function captureTab() {  // one frame of this tab, shared by the tester through the browser's own prompt
    var media = navigator.mediaDevices;
    if (!media || !media.getDisplayMedia) return Promise.reject(new Error("getDisplayMedia is not available"));
    return media.getDisplayMedia({ video: { displaySurface: "browser" }, audio: false, preferCurrentTab: true,
      selfBrowserSurface: "include", surfaceSwitching: "exclude", monitorTypeSurfaces: "exclude" }).then(function (stream) {
      var track = stream.getVideoTracks()[0];
      hideWidget(true);
      return afterPaint(250).then(function () {
        if (window.ImageCapture) return new window.ImageCapture(track).grabFrame();
        var video = document.createElement("video");  // no ImageCapture: a frame from a video element
        video.muted = true;
        video.srcObject = stream;
        return video.play().then(function () { return video; });
      }).then(function (frame) {
        var w = frame.videoWidth || frame.width, h = frame.videoHeight || frame.height;
        var c = canvasOf(w, h);
        c.getContext("2d").drawImage(frame, 0, 0, w, h);
        if (frame.close) frame.close();
        return c;
      }).finally(function () {
        stream.getTracks().forEach(function (tr) { tr.stop(); });
        hideWidget(false);
      });
    });
  }

  captureBtn.addEventListener("click", function () {
    if (capturing || items.length >= MAX_ATTACHMENTS) return;
    setError(attachErr, null, "");
    setCapturing(true);
    var attempt = domCaptureBlocked ? captureTab() : captureDom().catch(function () {
      domCaptureBlocked = true;  // the page's policy (or a failure) rules it out: the tab from now on
      return captureTab();
    });
    attempt.then(function (canvas) {
      setCapturing(false);
      var item = addImage(canvas, canvas.width, canvas.height, t.attachPage);
      if (item) openEditor(item); else captureBtn.focus();
    }, function (err) {
      setCapturing(false);
      var name = err && err.name;
      if (name === "NotAllowedError" || name === "AbortError") attachStatus.textContent = t.captureCancelled;
      else if (name === "InvalidStateError") setError(attachErr, null, t.captureAgain);  // the click's activation ran out
      else setError(attachErr, null, t.captureFailed);
      captureBtn.focus();
    });
  });

  updateAttachments();

  // --- the editor -------------------------------------------------------------------------------
  var editing = null;
  var tool = "redact";
  var pending = null;  // the box being drawn (pointer) or placed (keyboard)
  var dragFrom = null;

  function paintEditor() {
    if (editing) render(editing, editorCanvas, pending);
  }
  function describeEditor() {
    var n = items.indexOf(editing) + 1;
    editorCanvas.setAttribute("aria-label", fmt(t.editorCanvas, { n: n, count: editing.boxes.length }));
    undoBtn.disabled = !editing.boxes.length;
  }

  function openEditor(item) {
    editing = item;
    pending = null;
    editorCanvas.width = item.image.width;
    editorCanvas.height = item.image.height;
    editorTitle.textContent = fmt(t.editorTitle, { n: items.indexOf(item) + 1 });
    editorStatus.textContent = "";
    describeEditor();
    paintEditor();
    form.hidden = true;
    editor.hidden = false;
    dialog.classList.add("wide");
    dialog.setAttribute("aria-labelledby", id("editor-title"));
    editorCanvas.focus();
  }

  function closeEditor(focusBack) {
    if (editor.hidden) return;
    changed();  // boxes drawn or removed: another picture
    // A box placed but not yet kept (Enter) is on the image the tester sees: it is kept, never dropped
    // unseen, so a black-out box placed with the keyboard is not lost by going to Done.
    if (pending && editing) keep(pending);
    dragFrom = null;
    var item = editing;
    editing = null;
    pending = null;
    editor.hidden = true;
    form.hidden = false;
    dialog.classList.remove("wide");
    dialog.setAttribute("aria-labelledby", id("title"));
    updateAttachments();  // the thumbnail shows the boxes now
    if (focusBack) (item && item.openBtn && item.openBtn.isConnected ? item.openBtn : addBtn).focus();
  }

  function chooseTool(kind) {
    tool = kind;
    redactBtn.setAttribute("aria-pressed", String(kind === "redact"));
    highlightBtn.setAttribute("aria-pressed", String(kind === "highlight"));
    if (pending) { pending.kind = kind; paintEditor(); }
  }
  redactBtn.addEventListener("click", function () { chooseTool("redact"); });
  highlightBtn.addEventListener("click", function () { chooseTool("highlight"); });
  undoBtn.addEventListener("click", function () {
    if (!editing || !editing.boxes.length) return;
    editing.boxes.pop();
    paintEditor();
    describeEditor();
    editorStatus.textContent = fmt(t.editorUndone, { count: editing.boxes.length });
    if (undoBtn.disabled) editorCanvas.focus();
  });
  editorDone.addEventListener("click", function () { closeEditor(true); });

  function keep(box) {
    var b = { kind: box.kind, x: Math.round(box.x), y: Math.round(box.y), w: Math.round(box.w), h: Math.round(box.h) };
    pending = null;
    if (b.w < 2 || b.h < 2) { paintEditor(); return; }
    editing.boxes.push(b);
    paintEditor();
    describeEditor();
    editorStatus.textContent = fmt(t.editorAdded, { count: editing.boxes.length });
  }

  function pointAt(evt) {  // the pointer in the image's own pixels
    var r = editorCanvas.getBoundingClientRect();
    return {
      x: Math.max(0, Math.min(editorCanvas.width, (evt.clientX - r.left) * editorCanvas.width / r.width)),
      y: Math.max(0, Math.min(editorCanvas.height, (evt.clientY - r.top) * editorCanvas.height / r.height)),
    };
  }
  editorCanvas.addEventListener("pointerdown", function (evt) {
    if (!editing || evt.button !== 0) return;
    evt.preventDefault();
    editorCanvas.focus();
    editorCanvas.setPointerCapture(evt.pointerId);
    dragFrom = pointAt(evt);
    pending = { kind: tool, x: dragFrom.x, y: dragFrom.y, w: 0, h: 0 };
  });
  editorCanvas.addEventListener("pointermove", function (evt) {
    if (!dragFrom) return;
    var p = pointAt(evt);
    pending = { kind: tool, x: Math.min(p.x, dragFrom.x), y: Math.min(p.y, dragFrom.y),
      w: Math.abs(p.x - dragFrom.x), h: Math.abs(p.y - dragFrom.y) };
    paintEditor();
  });
  function endDrag() {
    if (!dragFrom) return;
    dragFrom = null;
    if (pending) keep(pending);
  }
  editorCanvas.addEventListener("pointerup", endDrag);
  editorCanvas.addEventListener("pointercancel", function () { dragFrom = null; pending = null; paintEditor(); });

  editorCanvas.addEventListener("keydown", function (evt) {
    if (!editing) return;
    var W = editorCanvas.width, H = editorCanvas.height;
    var step = Math.max(2, Math.round(Math.max(W, H) / 60));
    var moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if ((evt.key === "Enter" || evt.key === " ") && !pending) {
      evt.preventDefault();
      pending = { kind: tool, x: W * 0.375, y: H * 0.375, w: W * 0.25, h: H * 0.25 };
      editorStatus.textContent = t.editorPlaced;
    } else if ((evt.key === "Enter" || evt.key === " ") && pending) {
      evt.preventDefault();
      keep(pending);
      return;
    } else if (evt.key === "Escape" && pending) {
      evt.preventDefault();
      evt.stopPropagation();  // drops the box; the editor stays open
      pending = null;
    } else if (moves[evt.key] && pending) {
      evt.preventDefault();
      var d = moves[evt.key];
      if (evt.shiftKey) {
        pending.w = Math.max(step, Math.min(W - pending.x, pending.w + d[0] * step));
        pending.h = Math.max(step, Math.min(H - pending.y, pending.h + d[1] * step));
      } else {
        pending.x = Math.max(0, Math.min(W - pending.w, pending.x + d[0] * step));
        pending.y = Math.max(0, Math.min(H - pending.h, pending.y + d[1] * step));
      }
    } else return;
    paintEditor();
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

  // One key per submission, sent again with each retry of it (ours after a lost answer, the tester's "Try
  // again"): the server stores a submission once per key. Anything the tester changes makes it another one.
  var submissionKey = null;
  function changed() { submissionKey = null; }
  function keyOfThisSubmission() {
    if (!submissionKey) {
      var bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);  // also on http: pages, where crypto.randomUUID is missing
      submissionKey = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    }
    return submissionKey;
  }

  function post(body, files, key) {
    if (files && files.length) return postMultipart(body, files, key);
    return fetch(endpoint, {
      method: "POST", mode: "cors", credentials: "omit", cache: "no-store", referrerPolicy: "strict-origin-when-cross-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": key },
      body: JSON.stringify(body),
    });
  }

  // A fetch-like answer from XMLHttpRequest: fetch has no upload progress.
  function postMultipart(body, files, key) {
    return new Promise(function (resolve, reject) {
      var formData = new FormData();
      Object.keys(body).forEach(function (k) { formData.append(k, String(body[k])); });
      files.forEach(function (f) { formData.append("attachments", f.blob, f.filename); });
      var xhr = new XMLHttpRequest();
      xhr.open("POST", endpoint);
      xhr.withCredentials = false;
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("Idempotency-Key", key);
      showProgress(0);
      xhr.upload.addEventListener("progress", function (evt) { if (evt.lengthComputable) showProgress(evt.loaded / evt.total); });
      xhr.upload.addEventListener("load", function () { showProgress(1); });
      xhr.addEventListener("load", function () {
        resolve({
          status: xhr.status,
          headers: { get: function (name) { return xhr.getResponseHeader(name); } },
          json: function () { return new Promise(function (ok) { ok(JSON.parse(xhr.responseText)); }); },
        });
      });
      xhr.addEventListener("error", function () { reject(new TypeError("network error")); });
      xhr.addEventListener("timeout", function () { reject(new TypeError("timed out")); });
      xhr.send(formData);
    });
  }

  function showProgress(fraction) {
    if (progressBox.hidden) {
      progressBox.hidden = false;
      if (progressBox.scrollIntoView) progressBox.scrollIntoView({ block: "nearest" });
    }
    progress.value = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
  }

  function later(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function sendWithRetry(body, files) {  // one retry, after a pause, when the network or a gateway failed
    // The retries resend this body, so they send its key, whatever the tester edits meanwhile (that edit
    // makes the next submission another one).
    var key = keyOfThisSubmission();
    return post(body, files, key).then(function (resp) {
      if ([502, 503, 504].indexOf(resp.status) >= 0) throw { retryable: true, resp: resp };
      return resp;
    }).catch(function (err) {
      if (err && err.resp === undefined && !(err instanceof TypeError)) throw err;
      return later(RETRY_DELAY_MS).then(function () { return post(body, files, key); }).then(function (resp) {
        if (resp.status !== 409) return resp;
        // 409: the first try is still being stored (a gateway gave up on it, the console did not): once it is,
        // the same key is answered with its id.
        var wait = parseInt(resp.headers.get("Retry-After") || "2", 10);
        return later(Math.min(10, isNaN(wait) ? 2 : wait) * 1000).then(function () { return post(body, files, key); });
      });
    });
  }

  function showServerErrors(errors) {
    var firstBad = null;
    var map = { rating: [ratingErr, null, stars[0].input], category: [categoryErr, category, category],
      message: [messageErr, message, message], email: [emailErr, email, email] };
    var fileErrors = [];  // "attachments" (all of them) and "attachments[i]" (one file): said together
    Object.keys(errors || {}).forEach(function (field) {
      if (/^attachments(\[\d+\])?$/.test(field)) { fileErrors.push(errors[field]); return; }
      var target = map[field];
      if (target) { setError(target[0], target[1], errors[field]); firstBad = firstBad || target[2]; }
    });
    if (fileErrors.length) {
      setError(attachErr, null, fileErrors.join(" "));
      firstBad = firstBad || thumbs.querySelector("button") || addBtn;
    }
    alertBox.textContent = t.errorsSummary + (firstBad ? "" : " (" + Object.keys(errors || {}).join(", ") + ")");
    (firstBad || submitBtn).focus();
  }

  function finish(ok) {
    sending = false;
    progressBox.hidden = true;
    submitBtn.disabled = false;
    submitBtn.textContent = ok ? t.submit : t.retry;
    statusBox.textContent = "";
  }

  form.addEventListener("input", changed);  // whatever the tester edits after a failed try is another submission
  form.addEventListener("change", changed);
  form.addEventListener("submit", function (evt) {
    evt.preventDefault();
    if (sending || !validate()) return;
    sending = true;
    submitBtn.disabled = true;
    submitBtn.textContent = t.sending;
    statusBox.textContent = t.sending;
    alertBox.textContent = "";
    var body = payload();
    exportAttachments().then(function (files) {
      var refused = tooLarge(files);
      if (refused) throw { refused: refused };
      return sendWithRetry(body, files);
    }).then(function (resp) {
      if (resp.status === 201) {
        changed();  // the next feedback is another submission
        finish(true);
        form.hidden = true;
        done.hidden = false;
        doneTitle.focus();
        return;
      }
      return resp.json().catch(function () { return {}; }).then(function (body) {
        finish(false);
        if (resp.status === 400 && body && body.errors) { showServerErrors(body.errors); return; }  // it moves focus
        if (resp.status === 429) {
          var wait = parseInt(resp.headers.get("Retry-After") || "60", 10);
          alertBox.textContent = fmt(t.tooMany, { minutes: Math.max(1, Math.ceil((isNaN(wait) ? 60 : wait) / 60)) });
        } else if (resp.status === 413) alertBox.textContent = t.failedTooLarge;
        else if (resp.status === 403) {  // this site is not allowed: trying again will not help
          alertBox.textContent = t.failedOrigin;
          submitBtn.textContent = t.submit;
        }
        else alertBox.textContent = fmt(t.failedServer, { status: resp.status });
        submitBtn.focus();
      });
    }).catch(function (err) {
      finish(false);
      if (err && err.refused) {  // nothing was sent: the tester removes the file named
        submitBtn.textContent = t.submit;
        setError(attachErr, null, err.refused);
        alertBox.textContent = t.errorsSummary;
        (thumbs.querySelector("button") || addBtn).focus();
        return;
      }
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

  window.NousFeedback = { open: open, close: close, version: "1.2.0" };
})();
