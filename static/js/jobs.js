// Jobs page: the processed/failed chart (uPlot). Data from the `data-src` JSON endpoint.
(function () {
  "use strict";

  var el = document.getElementById("jobs-chart");
  if (!el || !window.uPlot) return;
  var summary = document.getElementById("jobs-chart-summary");
  var buttons = document.querySelectorAll("[data-chart-range]");
  var range = "48h";
  var plot = null;

  function total(xs) { return xs.reduce(function (a, b) { return a + b; }, 0); }

  function draw(d) {
    var data = [d.t, d.processed, d.failed];
    var opts = {
      width: Math.max(280, el.clientWidth),
      height: 220,
      scales: { x: { time: true } },
      series: [
        {},
        { label: "processed", stroke: "#4f46e5", width: 2, fill: "rgba(79,70,229,0.08)" },
        { label: "failed", stroke: "#b91c1c", width: 2 }
      ],
      axes: [{ stroke: "#7a8496" }, { stroke: "#7a8496", size: 44 }]
    };
    if (plot) plot.destroy();
    plot = new window.uPlot(opts, data, el);
    var per = d.bucket_seconds === 3600 ? "hour" : "day";
    el.setAttribute("aria-label", "Jobs processed and failed per " + per);
    if (summary) {
      summary.textContent = total(d.processed) + " processed, " + total(d.failed) + " failed in the last " +
        (range === "48h" ? "48 hours" : "30 days") + " (per " + per + ", UTC).";
    }
  }

  function load() {
    fetch(el.getAttribute("data-src") + "?range=" + encodeURIComponent(range),
          { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(draw)
      .catch(function () { if (summary) summary.textContent = "The chart could not be loaded."; });
  }

  Array.prototype.forEach.call(buttons, function (b) {
    b.addEventListener("click", function () {
      range = b.getAttribute("data-chart-range");
      Array.prototype.forEach.call(buttons, function (o) { o.setAttribute("aria-pressed", String(o === b)); });
      load();
    });
  });
  window.addEventListener("resize", function () { if (plot) plot.setSize({ width: Math.max(280, el.clientWidth), height: 220 }); });
  document.body.addEventListener("jobs-changed", load);
  load();
  setInterval(load, 60000);
})();
