// Jobs pages: live refreshes, and the processed/failed chart (uPlot, data from the `data-src` JSON endpoint).

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
