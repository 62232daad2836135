// Feature-flag pages: what HTML attributes cannot express (no inline script under the CSP).
(function () {
  "use strict";

  // The rollout slider shows its value as it moves.
  document.addEventListener("input", function (evt) {
    var el = evt.target;
    if (el.matches && el.matches("input[type=range][data-output]")) {
      var out = document.getElementById(el.getAttribute("data-output"));
      if (out) out.textContent = el.value;
    }
    if (el.matches && el.matches("textarea[data-json-check]")) checkJson(el);
  });

  // JSON editors say at once whether what was typed is JSON (the server checks the meaning).
  function checkJson(area) {
    var field = area.closest(".field");
    var status = field && field.querySelector("[data-json-status]");
    if (!area.value.trim()) {
      area.removeAttribute("aria-invalid");
      if (status) status.textContent = "";
      return;
    }
    try {
      JSON.parse(area.value);
      area.removeAttribute("aria-invalid");
      if (status) { status.textContent = "Valid JSON."; status.classList.remove("field-error"); }
    } catch (e) {
      area.setAttribute("aria-invalid", "true");
      if (status) { status.textContent = "Not valid JSON yet: " + e.message; status.classList.add("field-error"); }
    }
  }

  // A condition offers "ignore case" except on the operators its data-ignore-case lists (IN and NOT_IN),
  // which always compare exactly.
  document.addEventListener("change", function (evt) {
    var el = evt.target;
    if (!(el.matches && el.matches(".condition-row select"))) return;
    var box = el.closest(".condition-row").querySelector("[data-ignore-case]");
    if (!box) return;
    var exact = box.getAttribute("data-ignore-case").split(" ").indexOf(el.value) !== -1;
    box.hidden = exact;
    if (exact) box.querySelector("input").checked = false;
  });

  document.addEventListener("click", function (evt) {
    var remove = evt.target.closest && evt.target.closest("[data-remove]");
    if (remove) {
      var row = document.getElementById(remove.getAttribute("data-remove"));
      var list = row && row.parentElement;
      if (row) row.remove();
      var next = list && list.querySelector("input, select");
      if (next) next.focus();
      return;
    }
    var copy = evt.target.closest && evt.target.closest("[data-copy]");
    if (copy) {
      var input = document.getElementById(copy.getAttribute("data-copy"));
      if (!input) return;
      input.select();
      var done = function () { if (window.nousToast) window.nousToast("Copied", "success"); };
      if (navigator.clipboard) navigator.clipboard.writeText(input.value).then(done, function () {});
    }
  });
})();
