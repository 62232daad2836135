// Console behaviour that HTML attributes cannot express: toasts from HX-Trigger, fragments following changes,
// errors and conflicts shown in place, focus after swaps.
(function () {
  "use strict";

  function toast(message, kind) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (kind || "info");
    el.textContent = message;
    box.appendChild(el);
    setTimeout(function () { el.classList.add("toast-out"); }, 3500);
    setTimeout(function () { el.remove(); }, 4000);
  }
  window.nousToast = toast;

  // Server sends HX-Trigger: {"toast": {"message": "...", "kind": "success"}}
  document.body.addEventListener("toast", function (evt) {
    var d = evt.detail || {};
    toast(d.message || d.value, d.kind);
  });

  document.body.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var msg = "Request failed (" + xhr.status + ")";
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.message) msg = body.message;
    } catch (e) { /* not JSON */ }
    toast(msg, "error");
  });
  document.body.addEventListener("htmx:sendError", function () {
    toast("The server cannot be reached. Check your connection.", "error");
  });

  // Progress bar for anything in flight. Not hx-indicator: an indicator replaces the htmx-request class on
  // the element that asked (a button dims while its request runs), and this bar is for every request.
  var inflight = 0;
  var bar = document.getElementById("progress");
  document.body.addEventListener("htmx:beforeRequest", function () { inflight++; if (bar) bar.classList.add("active"); });
  document.body.addEventListener("htmx:afterRequest", function () { inflight = Math.max(0, inflight - 1); if (bar && !inflight) bar.classList.remove("active"); });

  // --- every view current --------------------------------------------------------------------------
  // After a change the server sends "<kind>-changed" and "<kind>-<id>-changed" (HX-Trigger-After-Swap, see
  // nous.live.changes) and live.js dispatches the same events for changes made elsewhere. Fragments listen
  // with hx-trigger="flag-7-changed from:body" and fetch themselves again, except one that already shows
  // that version (its data-version) and one holding a form the admin has started to change (its save
  // carries the version it was drawn from, so it is refused with the current state, never lost silently).
  function isChange(evt) { return !!evt && typeof evt.type === "string" && /-changed$/.test(evt.type); }

  document.body.addEventListener("htmx:confirm", function (evt) {
    var trigger = evt.detail.triggeringEvent, elt = evt.detail.elt;
    if (!isChange(trigger) || !elt || !elt.getAttribute) return;
    var version = trigger.detail && trigger.detail.version;
    if (version !== undefined && version !== null && elt.getAttribute("data-version") === String(version)) {
      evt.preventDefault();  // already shows it
    } else if (elt.querySelector("[data-dirty]")) {
      evt.preventDefault();
      elt.setAttribute("data-outdated", "");
    }
  });

  function markDirty(evt) {
    var t = evt.target;
    if (!t || !t.closest || t.closest("[role=search]")) return;
    var form = t.closest("form");
    if (form) form.setAttribute("data-dirty", "");
    else if (t.type === "checkbox") t.toggleAttribute("data-dirty", t.checked);  // a selection in a list
  }
  document.addEventListener("input", markDirty, true);
  document.addEventListener("change", markDirty, true);
  function clean(form) {
    if (!form || !form.removeAttribute) return;
    form.removeAttribute("data-dirty");
    if (form.id) document.querySelectorAll('[form="' + form.id + '"][data-dirty]').forEach(function (el) { el.removeAttribute("data-dirty"); });
  }
  document.addEventListener("submit", function (evt) { clean(evt.target); }, true);
  document.body.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail.elt;
    if (elt && elt.tagName === "FORM") clean(elt);
    else if (elt && elt.form) clean(elt.form);
  });

  // Refused input (422) is swapped in place everywhere by the htmx-config's responseHandling (the layout).
  // A stale change (409) is swapped only inside [data-swap-errors] (the object as it is now and what changed
  // since); elsewhere a 409 is an error toast. responseHandling cannot be scoped to an element, hence this.
  document.body.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status, cfg = evt.detail.requestConfig;
    if (status === 409 && cfg && cfg.elt && cfg.elt.closest && cfg.elt.closest("[data-swap-errors]")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  // --- focus after a swap ---------------------------------------------------------------------------
  // Only a swap the admin started (a submit or a click: a trusted event) moves focus: a swap that removed
  // the focused element (the form's own button) would drop it to the top of the page, so it goes to the
  // answer's message (a conflict, an error, "Saved") or else to the swapped fragment. Swaps nobody asked
  // for (panels filling themselves in on load or when revealed, polling, changes made elsewhere) never
  // take focus or scroll the page; one that removed the focused element gives focus back to its fragment.
  var FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";
  document.body.addEventListener("htmx:beforeSwap", function (evt) {
    var cfg = evt.detail.requestConfig, target = evt.detail.target, active = document.activeElement;
    if (!cfg) return;
    var trigger = cfg.triggeringEvent;
    cfg.nousFocus = {id: target && target.id, inside: !!(target && active && active !== document.body && target.contains(active)),
                     byUser: !!(trigger && trigger.isTrusted && !isChange(trigger))};
  });
  document.body.addEventListener("htmx:afterSettle", function (evt) {
    var cfg = evt.detail.requestConfig, info = cfg && cfg.nousFocus;
    if (!info || info.done) return;
    info.done = true;
    if (!info.byUser && !info.inside) return;  // nobody asked for it and it took nothing away
    var el = (info.id && document.getElementById(info.id)) || evt.target;
    if (!el || !el.querySelector || !document.documentElement.contains(el)) return;
    // a refusal (conflict, error) the admin caused is read first, wherever focus stayed
    var spot = info.byUser ? el.querySelector("[data-conflict], [role=alert]") : null;
    var active = document.activeElement;
    if (!spot) {
      if (active && active !== document.body && document.documentElement.contains(active)) return;
      spot = (info.byUser ? el.querySelector("[role=status], .notice") : null) || el;
    }
    if (!spot.matches(FOCUSABLE)) spot.setAttribute("tabindex", "-1");
    spot.focus({preventScroll: !info.byUser});
  });

  // Confirm dialogs come from hx-confirm (native confirm); forms with data-confirm get the same.
  document.addEventListener("submit", function (evt) {
    var msg = evt.target.getAttribute && evt.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) evt.preventDefault();
  });
})();
