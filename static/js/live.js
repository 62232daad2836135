// Live updates for the console: one WebSocket per page to /ws/live (reconnects by itself with
// exponential backoff and resumes after the last event it saw), charts of the collector's figures
// (uPlot, set up by charts.js), `live:<topic>` DOM events other parts of the page react to (e.g. hx-trigger="live:alerts from:body"),
// and for every changed object the events "<kind>-changed" and "<kind>-<id>-changed" (see objectEvents).
// Safe to include more than once: it runs once per page.
(function () {
  "use strict";
  if (window.NousLive) { window.NousLive.scan(); return; }

  var body = document.body;
  var statusEl = function () { return document.getElementById("live-status"); };

  // --- the socket -------------------------------------------------------------------------------
  var socket = null, signedOut = false, lastId = "", attempt = 0, connects = 0, replaying = null, retryTimer = null, watchdog = null, heartbeat = 20, lastHeard = 0;
  var BACKOFF_BASE = 1000, BACKOFF_MAX = 30000;

  function setStatus(state, text) {
    var el = statusEl();
    if (!el) return;
    el.classList.toggle("on", state === "on");
    el.classList.toggle("off", state === "off");
    el.textContent = text;
    el.setAttribute("data-state", state);
    el.title = state === "on" ? "Live updates are on" : text;
  }

  function socketUrl() {
    var given = body.getAttribute("data-ws-url") || "";
    if (!given) return "";
    // Always this page's host, wss under https: the server only accepts its own pages (Origin), and a
    // proxy that terminates TLS may have made the server write ws://.
    var url = new URL(given, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.host = location.host;
    if (lastId) url.searchParams.set("after", lastId);
    return url.toString();
  }

  function connect() {
    var url = socketUrl();
    if (!url || socket) return;
    setStatus("connecting", attempt ? "reconnecting…" : "connecting…");
    try {
      socket = new WebSocket(url);
    } catch (e) {
      socket = null;
      scheduleReconnect();
      return;
    }
    socket.onmessage = function (msg) {
      lastHeard = Date.now();
      var m;
      try { m = JSON.parse(msg.data); } catch (e) { return; }
      if (m.type === "hello") {
        attempt = 0;
        heartbeat = m.heartbeat || heartbeat;
        connects += 1;
        replaying = {last: {}, objects: {}};
        setStatus("on", "live");
        if (statusEl()) statusEl().setAttribute("data-connects", String(connects));
      } else if (m.type === "signed-out") {
        signedOut = true;
      } else if (m.type === "ping") {
        send({type: "pong"});
      } else if (m.type === "event") {
        if (m.id) lastId = m.id;
        if (replaying && m.topic !== "metrics") {
          // what happened while away: one event per topic, and one per changed object, once the replay is done
          replaying.last[m.topic] = m;
          objectEvents(m.topic, m.data).forEach(function (e) { replaying.objects[e[0]] = e[1]; });
        } else {
          dispatch(m.topic, m.data, m.id, !!replaying);
        }
      } else if (m.type === "replayed") {
        var missed = replaying;
        replaying = null;
        if (connects > 1) {  // a fresh page already shows the present; a reconnected one catches up
          Object.keys(missed.last).forEach(function (t) { dispatch(t, missed.last[t].data, missed.last[t].id, true, true); });
          Object.keys(missed.objects).forEach(function (name) {
            body.dispatchEvent(new CustomEvent(name, {detail: missed.objects[name]}));
          });
        }
      }
    };
    socket.onclose = function (evt) {
      socket = null;
      clearInterval(watchdog);
      if (evt.code === 1008 || signedOut) {  // signed out (here, elsewhere or by age): retrying would only be refused
        clearTimeout(retryTimer);
        setStatus("off", "signed out");
        if (window.nousToast) window.nousToast("You were signed out. Reload the page to sign in again.", "error");
        return;
      }
      setStatus("off", "offline, reconnecting…");
      scheduleReconnect();
    };
    socket.onerror = function () { /* onclose follows and reconnects */ };
    lastHeard = Date.now();
    clearInterval(watchdog);
    watchdog = setInterval(function () {  // a silent socket is a dead one: pings come every `heartbeat` s
      if (socket && Date.now() - lastHeard > 2.5 * heartbeat * 1000) socket.close();
    }, 5000);
  }

  function send(obj) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(obj));
  }

  function scheduleReconnect() {
    clearTimeout(retryTimer);
    var delay = Math.min(BACKOFF_MAX, BACKOFF_BASE * Math.pow(2, attempt));
    delay = delay / 2 + Math.random() * delay / 2;  // jitter: many tabs do not return at once
    attempt += 1;
    retryTimer = setTimeout(connect, delay);
  }

  // Changed objects get the same DOM events as the console's own answers send in HX-Trigger-After-Swap
  // (nous.live.changes): "flag-changed" and "flag-7-changed", with the version the object is at now.
  // Fragments showing the object listen with hx-trigger="flag-7-changed from:body".
  var OBJECTS = {flags: [["flag", "id"]], feedback: [["feedback", "id"]], jobs: [["job", "job_id"]],
                 alerts: [["alert", "id"]], testers: [["tester", "id"]],
                 workflows: [["run", "run_id"], ["workflow", "workflow_id"]]};
  var OBJECT_ID = /^[A-Za-z0-9_.-]{1,80}$/;

  function objectEvents(topic, data) {
    var out = [];
    if (!data || typeof data !== "object") return out;
    (OBJECTS[topic] || []).forEach(function (pair) {
      var kind = pair[0], id = data[pair[1]];
      if (pair[1] !== "id" && (id === undefined || id === null)) return;  // the event is not about this kind
      var detail = {data: data, live: true};
      if (data.version !== undefined && data.version !== null) detail.version = String(data.version);
      out.push([kind + "-changed", detail]);
      if (id !== undefined && id !== null && OBJECT_ID.test(String(id))) out.push([kind + "-" + id + "-changed", detail]);
    });
    return out;
  }

  function dispatch(topic, data, id, replayed, withoutObjects) {
    body.dispatchEvent(new CustomEvent("live:" + topic, {detail: {data: data, id: id, replayed: replayed}}));
    if (!withoutObjects) {
      objectEvents(topic, data).forEach(function (e) { body.dispatchEvent(new CustomEvent(e[0], {detail: e[1]})); });
    }
    if (topic === "alerts" && data && !replayed && window.nousToast) {
      window.nousToast((data.status === "open" ? "Alert: " : "Resolved: ") + data.title,
                       data.status === "open" ? "error" : "success");
    }
  }

  // --- charts (uPlot set up by charts.js) --------------------------------------------------------
  var RANGE_SECONDS = {"1h": 3600, "6h": 21600, "24h": 86400, "7d": 604800, "30d": 2592000};
  var HEIGHT = 170;

  function fmt(v, unit) {
    if (v === null || v === undefined || isNaN(v)) return "—";
    if (unit === "ratio") return (v * 100).toFixed(v * 100 < 10 ? 1 : 0) + " %";
    if (unit === "%") return v.toFixed(1) + " %";
    if (unit === "ms") return (v < 10 ? v.toFixed(1) : Math.round(v).toLocaleString()) + " ms";
    if (unit === "req/s") return (v < 10 ? v.toFixed(2) : v.toFixed(0)) + " req/s";
    if (unit === "jobs") return Math.round(v).toLocaleString() + " jobs";
    return (Math.round(v * 100) / 100).toString();
  }

  function axisFmt(unit) {
    return function (u, vals) {
      return vals.map(function (v) {
        if (v === null) return "";
        if (unit === "ratio") { var pct = Math.round(v * 1000) / 10; return pct + "%"; }
        if (unit === "%") return v + "%";
        if (unit === "ms") return v >= 1000 ? (v / 1000) + "s" : v + "ms";
        if (unit === "req/s") return v + "/s";
        return v.toLocaleString();
      });
    };
  }

  function Board(root) {
    var C = window.NousCharts;
    this.root = root;
    this.range = root.getAttribute("data-range") || "1h";
    this.url = root.getAttribute("data-history-url");
    this.charts = [];
    this.data = null;  // {t: [...], series: {key: [...]}, figures: [...]}
    this.units = {};
    this.labels = {};
    var self = this;
    C.rangeButtons(root.querySelectorAll("button[data-range]"), "data-range", function (range) { self.setRange(range); });
    this.onMetrics = function (evt) { self.add(evt.detail.data); };
    body.addEventListener("live:metrics", this.onMetrics);
    C.follow(root, function () { return self.charts; });
    this.load();
  }

  Board.prototype.setRange = function (range) {
    this.range = range;
    this.root.setAttribute("data-range", range);
    this.load();
  };

  Board.prototype.status = function (text) {
    var el = this.root.querySelector(".live-updated");
    if (el) el.textContent = text;
  };

  Board.prototype.load = function () {
    var self = this, range = this.range;
    this.status("Loading history…");
    window.NousCharts.getJSON(this.url + "?range=" + encodeURIComponent(range))
      .then(function (doc) {
        if (range !== self.range) return;
        self.data = {t: doc.t, series: doc.series, step: doc.step, hourly: doc.source === "hourly"};
        doc.figures.forEach(function (f) { self.units[f.key] = f.unit; self.labels[f.key] = f.label; });
        self.build();
        self.status(doc.t.length ? "" : "No samples yet: the collector job writes one every " + Math.round(doc.step) + " s.");
      })
      .catch(function () { self.status("History unavailable; retrying…"); setTimeout(function () { if (range === self.range) self.load(); }, 5000); });
  };

  // Points are not drawn (a line joins the samples), except a sample with no neighbour to join: the first one,
  // or one between gaps, would otherwise not show at all.
  function lonePoints(u, seriesIdx, show) {
    if (show) return null;
    var s = u.data[seriesIdx], lone = [];
    for (var i = 0; i < s.length; i++) {
      if (s[i] != null && (i === 0 || s[i - 1] == null) && (i === s.length - 1 || s[i + 1] == null)) lone.push(i);
    }
    return lone.length ? lone : null;
  }

  Board.prototype.build = function () {
    var self = this, C = window.NousCharts;
    this.charts.forEach(function (c) { c.plot.destroy(); });
    this.charts = [];
    this.root.querySelectorAll(".live-chart").forEach(function (fig) {
      var keys = fig.getAttribute("data-series").split(",");
      var units = [];
      keys.forEach(function (k) { if (units.indexOf(self.units[k]) < 0) units.push(self.units[k]); });
      var span = RANGE_SECONDS[self.range] || 3600;
      var scales = {x: {time: true, range: function () {  // the whole chosen window, ending now
        var t = self.data.t, end = Math.max(Date.now() / 1000, t.length ? t[t.length - 1] : 0);
        return [end - span, end];
      }}};
      units.forEach(function (unit) {
        scales[unit] = unit === "%" ? {range: [0, 100]} : {range: C.fromZero(unit === "ratio" ? 0.05 : unit === "jobs" ? 5 : 1)};
      });
      var series = [C.timeSeries("second")];  // legend values show while the pointer is on the chart
      keys.forEach(function (k, i) {
        series.push({label: self.labels[k], scale: self.units[k], stroke: C.PALETTE[i], fill: i === 0 ? C.FILLS[i] : undefined,
                     width: 1.75, points: {show: false, filter: lonePoints}, spanGaps: false,
                     value: function (u, v) { return v === null || v === undefined ? "" : fmt(v, self.units[k]); }});
      });
      var axes = [C.timeAxis()];
      units.forEach(function (unit, i) {
        axes.push(C.axis({scale: unit, side: i === 0 ? 3 : 1, size: 52, values: axisFmt(unit),
                          grid: i === 0 ? C.GRID : {show: false}}));
      });
      var plotEl = fig.querySelector(".live-chart-plot");
      plotEl.textContent = "";
      var plot = C.draw(plotEl, {height: HEIGHT, scales: scales, series: series, axes: axes,
                                 legend: {show: true, live: true}, cursor: {points: {size: 6}, drag: {x: false, y: false}},
                                 padding: [8, 6, 0, 0]}, self.columns(keys));
      self.charts.push({fig: fig, el: plotEl, keys: keys, plot: plot});
      self.updateNow(fig, keys);
    });
  };

  Board.prototype.columns = function (keys) {
    var d = this.data, cols = [d.t.slice()];
    keys.forEach(function (k) { cols.push((d.series[k] || []).slice()); });
    return cols;
  };

  Board.prototype.updateNow = function (fig, keys) {
    var self = this, d = this.data, parts = [], points = 0;
    keys.forEach(function (k) {
      var s = d.series[k] || [], v = null;
      for (var i = s.length - 1; i >= 0; i--) { if (s[i] !== null) { v = s[i]; break; } }
      parts.push(self.labels[k] + " " + fmt(v, self.units[k]));
    });
    (d.series[keys[0]] || []).forEach(function (v) { if (v !== null) points++; });
    var now = fig.querySelector("[data-now]");
    if (now) now.textContent = parts.join(" · ");
    fig.setAttribute("data-points", String(points));
  };

  Board.prototype.add = function (sample) {
    if (!this.data || !sample || typeof sample.t !== "number") return;
    if (this.data.hourly) return;  // hourly averages: a raw sample is not one of them (reloaded on demand)
    var d = this.data, t = sample.t, cutoff = t - (RANGE_SECONDS[this.range] || 3600);
    if (d.t.length && t <= d.t[d.t.length - 1]) return;  // already drawn (replay after a reconnect)
    d.t.push(t);
    Object.keys(d.series).forEach(function (k) { d.series[k].push(sample[k] === undefined ? null : sample[k]); });
    while (d.t.length && d.t[0] < cutoff) {
      d.t.shift();
      Object.keys(d.series).forEach(function (k) { d.series[k].shift(); });
    }
    var self = this;
    this.charts.forEach(function (c) { c.plot.setData(self.columns(c.keys)); self.updateNow(c.fig, c.keys); });
    this.status("");
  };

  function scan() {
    document.querySelectorAll(".live-charts").forEach(function (root) {
      if (root.__nousBoard || !window.uPlot || !window.NousCharts) return;
      root.__nousBoard = new Board(root);
    });
  }

  window.NousLive = {scan: scan, connect: connect, state: function () { return socket ? socket.readyState : -1; }};
  body.addEventListener("htmx:load", scan);
  scan();
  connect();
})();
