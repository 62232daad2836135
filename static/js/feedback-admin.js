// Feedback console: the charts (set up by charts.js) and "select all" for bulk status changes.
// A static file (the console's CSP allows no inline script); data comes from feedback.admin_charts.
(function () {
  "use strict";

  var HEIGHT = 180;

  function categorical(C, names) {
    return {
      scales: { x: { time: false, range: [-0.6, names.length - 0.4] } },
      axis: C.axis({
        splits: function () { return names.map(function (_, i) { return i; }); },
        values: function (u, splits) { return splits.map(function (i) { return names[i] === undefined ? "" : names[i]; }); },
        grid: { show: false },
        size: 44,
      }),
    };
  }

  function volumeChart(C, el, data) {
    var opts = {
      height: HEIGHT,
      series: [
        C.timeSeries("day"),
        { label: "Feedback", stroke: C.COLORS.accent, fill: "rgba(79,70,229,.22)", paths: C.bars(), points: { show: false }, scale: "n" },
        { label: "Average rating", stroke: C.COLORS.amber, width: 2, scale: "r", spanGaps: true, points: { size: 4 } },
      ],
      scales: { n: { range: C.fromZero(4, 1.15) }, r: { range: [1, 5] } },
      axes: [
        C.timeAxis(),
        C.axis({ scale: "n", size: 44 }),
        C.axis({ scale: "r", side: 1, stroke: C.COLORS.amber, grid: { show: false }, size: 36, splits: function () { return [1, 2, 3, 4, 5]; } }),
      ],
    };
    return C.draw(el, opts, [data.days, data.count, data.average]);
  }

  function ratingChart(C, el, data) {
    var c = categorical(C, ["1 ★", "2 ★", "3 ★", "4 ★", "5 ★"]);
    var opts = {
      height: HEIGHT,
      legend: { show: false },
      series: [{}, { label: "Ratings", stroke: C.COLORS.amber, fill: "rgba(217,119,6,.25)", paths: C.bars(), points: { show: false } }],
      scales: { x: c.scales.x, y: { range: C.fromZero(4, 1.15) } },
      axes: [c.axis, C.axis({ size: 44 })],
    };
    return C.draw(el, opts, [[0, 1, 2, 3, 4], data.ratings]);
  }

  function drawCharts() {
    var box = document.getElementById("feedback-charts");
    var status = document.getElementById("chart-status");
    var C = window.NousCharts;
    if (!box || typeof uPlot === "undefined" || !C) return;
    C.getJSON(box.getAttribute("data-url"))
      .then(function (data) {
        var charts = [document.getElementById("chart-volume"), document.getElementById("chart-ratings")];
        var plots = [volumeChart(C, charts[0], data), ratingChart(C, charts[1], data)];
        if (status) status.textContent = "";
        C.follow(box, function () { return charts.map(function (el, i) { return { plot: plots[i], el: el }; }); });
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
