// Workflow editor: Tab indents in the document, and "line N" buttons of the check move the caret there.
(function () {
  "use strict";

  function editor() { return document.getElementById("wf-document"); }

  function goTo(line, column) {
    var ta = editor();
    if (!ta) return;
    var lines = ta.value.split("\n");
    var n = Math.max(1, Math.min(line, lines.length));
    var offset = 0;
    for (var i = 0; i < n - 1; i++) offset += lines[i].length + 1;
    offset += Math.max(0, Math.min((column || 1) - 1, lines[n - 1].length));
    ta.focus();
    ta.setSelectionRange(offset, offset);
    var lineHeight = parseFloat(getComputedStyle(ta).lineHeight) || 20;
    ta.scrollTop = Math.max(0, (n - 4) * lineHeight);
  }

  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest && evt.target.closest(".wf-goto");
    if (!btn) return;
    evt.preventDefault();
    goTo(parseInt(btn.getAttribute("data-line"), 10) || 1, parseInt(btn.getAttribute("data-column"), 10) || 1);
  });

  document.addEventListener("keydown", function (evt) {
    var ta = evt.target;
    if (!ta || ta.id !== "wf-document" || evt.key !== "Tab" || evt.shiftKey || evt.ctrlKey || evt.metaKey || evt.altKey) return;
    // Two spaces (YAML indents with spaces). Esc first lets Tab leave the field, for keyboard users.
    if (ta.dataset.tabEscapes === "1") { ta.dataset.tabEscapes = ""; return; }
    evt.preventDefault();
    var start = ta.selectionStart, end = ta.selectionEnd;
    ta.setRangeText("  ", start, end, "end");
    ta.dispatchEvent(new Event("input", { bubbles: true }));
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.target && evt.target.id === "wf-document" && evt.key === "Escape") evt.target.dataset.tabEscapes = "1";
  });
})();
