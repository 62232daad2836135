// Feedback console: the three uPlot charts and "select all" for bulk status changes.
// A static file (the console's CSP allows no inline script); data comes from feedback.admin_charts.
(function () {
  "use strict";

  var ACCENT = "#4f46e5";
  var ACCENT_FILL = "rgba(79,70,229,.22)";
  var AMBER = "#d97706";
  var INK = "#7a8496";
  var HEIGHT = 180;

  function width(el) { return Math.max(240, el.clientWidth || 600); }

  function categorical(names) {
    return {
      scales: { x: { time: false, range: [-0.6, names.length - 0.4] } },
      axis: {
        stroke: INK,
        splits: function () { return names.map(function (_, i) { return i; }); },
        values: function (u, splits) { return splits.map(function (i) { return names[i] === undefined ? "" : names[i]; }); },
        grid: { show: false },
        size: 44,
      },
    };
  }

  function bars() {
    return uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 48] }) : undefined;
  }

  function volumeChart(el, data) {
    var opts = {
      width: width(el), height: HEIGHT,
      series: [
        {},
        { label: "Feedback", stroke: ACCENT, fill: ACCENT_FILL, paths: bars(), points: { show: false }, scale: "n" },
        { label: "Average rating", stroke: AMBER, width: 2, scale: "r", spanGaps: true, points: { size: 4 } },
      ],
      scales: { n: { range: function (u, min, max) { return [0, Math.max(4, max * 1.15)]; } }, r: { range: [1, 5] } },
      axes: [
        { stroke: INK, grid: { stroke: "#eef0f4" } },
        { scale: "n", stroke: INK, grid: { stroke: "#eef0f4" }, size: 44 },
        { scale: "r", side: 1, stroke: AMBER, grid: { show: false }, size: 36, splits: function () { return [1, 2, 3, 4, 5]; } },
      ],
    };
    return new uPlot(opts, [data.days, data.count, data.average], el);
  }

  function ratingChart(el, data) {
    var names = ["1 ★", "2 ★", "3 ★", "4 ★", "5 ★"];
    var c = categorical(names);
    var opts = {
      width: width(el), height: HEIGHT,
      legend: { show: false },
      series: [{}, { label: "Ratings", stroke: AMBER, fill: "rgba(217,119,6,.25)", paths: bars(), points: { show: false } }],
      scales: { x: c.scales.x, y: { range: function (u, min, max) { return [0, Math.max(4, max * 1.15)]; } } },
      axes: [c.axis, { stroke: INK, grid: { stroke: "#eef0f4" }, size: 44 }],
    };
    return new uPlot(opts, [[0, 1, 2, 3, 4], data.ratings], el);
  }

  function drawCharts() {
    var box = document.getElementById("feedback-charts");
    var status = document.getElementById("chart-status");
    if (!box || typeof uPlot === "undefined") return;
    fetch(box.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) {
        var plots = [
          volumeChart(document.getElementById("chart-volume"), data),
          ratingChart(document.getElementById("chart-ratings"), data),
        ];
        if (status) status.textContent = "";
        if (window.ResizeObserver) {
          var ro = new ResizeObserver(function () {
            plots.forEach(function (p) { p.setSize({ width: width(p.root.parentNode), height: HEIGHT }); });
          });
          ro.observe(box);
        }
      })
      .catch(function (err) { if (status) status.textContent = "Charts could not be loaded (" + err.message + ")."; });
  }

  function updateSelected() {
    var n = document.querySelectorAll('input[name="ids"]:checked').length;
    var out = document.getElementById("selected-count");
    if (out) out.textContent = n ? n + " selected" : "";
  }

  document.addEventListener("change", function (evt) {
    var t = evt.target;
    if (t && t.id === "select-all") {
      document.querySelectorAll('input[name="ids"]').forEach(function (box) { box.checked = t.checked; });
    }
    if (t && (t.id === "select-all" || t.name === "ids")) updateSelected();
  });
  document.addEventListener("htmx:afterSwap", updateSelected);

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawCharts);
  else drawCharts();
})();
