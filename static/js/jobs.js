// Jobs pages: live refreshes, and the processed/failed chart (data from the `data-src` JSON endpoint).

// Live: the "live:jobs" events of live.js become, at most once a second and always after the last
// event of a burst, the DOM events the jobs fragments refresh on (hx-trigger="… from:body"):
//   jobs-live    any job changed (the history list);
//   jobs-failed  a job failed for good, or one of the failures shown changed (the dashboard panel);
//   job-live     the job of this page changed, beyond its progress (the job page; progress polls itself).
// After a reconnect live.js replays the last event of each topic: everything refreshes then.
// Safe to include more than once (the dashboard panel brings it along): it listens once per page.
(function () {
  "use strict";
  if (window.nousJobsLive) return;
  window.nousJobsLive = true;
  var body = document.body;
  var pending = {};

  function soon(name) {
    if (pending[name]) return;
    pending[name] = setTimeout(function () {
      pending[name] = null;
      body.dispatchEvent(new CustomEvent(name));
    }, 1000);
  }

  function shown(selector, id) {
    return Array.prototype.some.call(document.querySelectorAll(selector), function (el) {
      return el.getAttribute("data-job-id") === id;
    });
  }

  body.addEventListener("live:jobs", function (e) {
    var detail = e.detail || {}, data = detail.data || {};
    var progressOnly = data.status === "started" && data.progress !== null && data.progress !== undefined;
    soon("jobs-live");
    if (detail.replayed || data.status === "failed" || shown("[data-failed-job]", data.job_id)) soon("jobs-failed");
    if (detail.replayed || (!progressOnly && shown("#job-detail", data.job_id))) soon("job-live");
  });

  // The list refreshes the page the address bar shows (paging and filters push it), not the one first loaded.
  body.addEventListener("htmx:configRequest", function (e) {
    if (e.detail.elt && e.detail.elt.id === "job-rows") e.detail.path = location.pathname + location.search;
  });
})();

// The chart: processed and failed per hour (48 hours) or per day (30 days), set up by charts.js.
(function () {
  "use strict";

  var el = document.getElementById("jobs-chart");
  var C = window.NousCharts;
  if (!el || !window.uPlot || !C) return;
  var summary = document.getElementById("jobs-chart-summary");
  var range = "48h";
  var plot = null;

  function total(xs) { return xs.reduce(function (a, b) { return a + b; }, 0); }

  function draw(d) {
    var opts = {
      height: 220,
      scales: { x: { time: true } },
      series: [
        C.timeSeries(d.bucket_seconds === 3600 ? "minute" : "day"),
        { label: "processed", stroke: C.COLORS.accent, width: 2, fill: "rgba(79,70,229,0.08)" },
        { label: "failed", stroke: C.COLORS.fail, width: 2 }
      ],
      axes: [C.timeAxis(), C.axis({ size: 44 })]
    };
    if (plot) plot.destroy();
    plot = C.draw(el, opts, [d.t, d.processed, d.failed]);
    var per = d.bucket_seconds === 3600 ? "hour" : "day";
    el.setAttribute("aria-label", "Jobs processed and failed per " + per);
    if (summary) {
      summary.textContent = total(d.processed) + " processed, " + total(d.failed) + " failed in the last " +
        (range === "48h" ? "48 hours" : "30 days") + " (per " + per + ", UTC).";
    }
  }

  function load() {
    C.getJSON(el.getAttribute("data-src") + "?range=" + encodeURIComponent(range))
      .then(draw)
      .catch(function () { if (summary) summary.textContent = "The chart could not be loaded."; });
  }

  C.rangeButtons(document.querySelectorAll("[data-chart-range]"), "data-chart-range", function (r) { range = r; load(); });
  C.follow(el, function () { return [{ plot: plot, el: el }]; });
  document.body.addEventListener("jobs-changed", load);
  load();
  setInterval(load, 60000);
})();
