// The console's charts, set up once: uPlot with the console's colours and axes, time axes in the console's
// date format ("6 Dec", "14:05", UTC like every time the console shows), a chart's JSON fetched with the
// session, charts kept as wide as their box, and range buttons. Used by live.js (dashboard), jobs.js and
// feedback-admin.js; loaded with uPlot by templates/_charts.html. Safe to include more than once.
(function () {
  "use strict";
  if (window.NousCharts) return;

  // --- theme ------------------------------------------------------------------------------------
  var COLORS = {accent: "#4f46e5", teal: "#0891b2", pink: "#db2777", orange: "#ea580c", amber: "#d97706", fail: "#b91c1c"};
  // series in order of appearance, with the fill of a first (area) series
  var PALETTE = [COLORS.accent, COLORS.teal, COLORS.pink, COLORS.orange];
  var FILLS = ["rgba(79,70,229,.10)", "rgba(8,145,178,.08)", "rgba(219,39,119,.08)", "rgba(234,88,12,.08)"];
  var GRID = {stroke: "#eef0f4", width: 1};
  var AXIS = {stroke: "#4a5468", font: "11px DejaVu Sans, system-ui, sans-serif", grid: GRID,
              ticks: {stroke: "#e3e6ec", width: 1, size: 4}};
  var MIN_WIDTH = 200;

  // An axis in the console's style; `extra` overrides (scale, side, size, values, grid…).
  function axis(extra) { return Object.assign({}, AXIS, extra || {}); }

  // --- dates: the console's format, in UTC --------------------------------------------------------
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function at(seconds) { return new Date(seconds * 1000); }
  function day(d) { return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()]; }
  function clock(d) { return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()); }
  function clockSeconds(d) { return clock(d) + ":" + pad(d.getUTCSeconds()); }

  function timeValues(u, splits, axisIdx, space, incr) {
    return splits.map(function (s) {
      var d = at(s);
      if (incr >= 86400) return day(d);
      if (incr < 60) return clockSeconds(d);
      return d.getUTCHours() === 0 && d.getUTCMinutes() === 0 ? day(d) : clock(d);
    });
  }

  // The time (x) axis.
  function timeAxis(extra) { return axis(Object.assign({space: 64, size: 30, values: timeValues}, extra || {})); }

  // The x series: its legend value is the moment under the pointer ("day": "6 Dec"; "second": "6 Dec 14:05:09").
  function timeSeries(precision) {
    return {label: "", value: function (u, v) {
      if (v === null || v === undefined) return "";
      var d = at(v);
      return precision === "day" ? day(d) : precision === "second" ? day(d) + " " + clockSeconds(d) : day(d) + " " + clock(d);
    }};
  }

  // A scale range from zero to the highest value plus headroom, at least `least`.
  function fromZero(least, headroom) {
    return function (u, min, max) { return [0, Math.max(least, max * (headroom || 1.2))]; };
  }

  function bars() {
    return uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({size: [0.7, 48]}) : undefined;
  }

  // --- drawing and sizing --------------------------------------------------------------------------
  function width(el) { return Math.max(MIN_WIDTH, Math.floor(el.clientWidth) || 600); }

  // A uPlot chart in `el`, as wide as `el`, with the console's time zone (UTC) for time scales.
  function draw(el, opts, data) {
    var o = Object.assign({width: width(el), tzDate: function (ts) { return uPlot.tzDate(at(ts), "Etc/UTC"); }}, opts);
    return new uPlot(o, data, el);
  }

  // Keeps charts as wide as their element while `box` changes size; `charts()` gives the current
  // [{plot, el}] (charts may be drawn again). Height stays what each chart was drawn with.
  function follow(box, charts) {
    function resize() {
      charts().forEach(function (c) {
        var w = width(c.el);
        if (c.plot && Math.abs(w - c.plot.width) > 2) c.plot.setSize({width: w, height: c.plot.height});
      });
    }
    if (window.ResizeObserver) new ResizeObserver(resize).observe(box);
    else window.addEventListener("resize", resize);
  }

  // --- data and controls -------------------------------------------------------------------------
  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); });
  }

  // Buttons carrying `attr` (a range): a click presses it (aria-pressed), releases the others and calls pick(range).
  function rangeButtons(buttons, attr, pick) {
    Array.prototype.forEach.call(buttons, function (b) {
      b.addEventListener("click", function () {
        Array.prototype.forEach.call(buttons, function (o) { o.setAttribute("aria-pressed", String(o === b)); });
        pick(b.getAttribute(attr));
      });
    });
  }

  window.NousCharts = {
    COLORS: COLORS, PALETTE: PALETTE, FILLS: FILLS, GRID: GRID,
    axis: axis, timeAxis: timeAxis, timeSeries: timeSeries, fromZero: fromZero, bars: bars,
    draw: draw, follow: follow, getJSON: getJSON, rangeButtons: rangeButtons,
  };
})();
