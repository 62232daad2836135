// API tokens page: the Copy button next to a token shown once (no inline script under the CSP).
(function () {
  "use strict";
  document.addEventListener("click", function (evt) {
    var copy = evt.target.closest && evt.target.closest("[data-copy]");
    if (!copy) return;
    var input = document.getElementById(copy.getAttribute("data-copy"));
    if (!input) return;
    input.select();
    var done = function () { if (window.nousToast) window.nousToast("Copied", "success"); };
    if (navigator.clipboard) navigator.clipboard.writeText(input.value).then(done, function () {});
  });
})();
