// Console behaviour that HTML attributes cannot express: toasts from HX-Trigger, focus after swaps.
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

  // Progress bar for anything in flight.
  var inflight = 0;
  var bar = document.getElementById("progress");
  document.body.addEventListener("htmx:beforeRequest", function () { inflight++; if (bar) bar.classList.add("active"); });
  document.body.addEventListener("htmx:afterRequest", function () { inflight = Math.max(0, inflight - 1); if (bar && !inflight) bar.classList.remove("active"); });

  // Confirm dialogs come from hx-confirm (native confirm); forms with data-confirm get the same.
  document.addEventListener("submit", function (evt) {
    var msg = evt.target.getAttribute && evt.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) evt.preventDefault();
  });
})();
