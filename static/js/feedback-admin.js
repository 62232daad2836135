// Feedback console: the charts (set up by charts.js), "select all" for bulk status changes, and the
// attachments' lightbox on the detail page. A static file (the console's CSP allows no inline script); chart
// data comes from feedback.admin_charts, the lightbox reads what it shows from the attachment cards.
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

  // --- the lightbox: a modal <dialog> over the image attachments ---------------------------------------
  // Esc closes it (the dialog's own cancel), the arrow keys move between images, and closing puts focus back
  // on the thumbnail it was opened from, also when the list was redrawn meanwhile (a text was read).
  var current = null;  // the id of the attachment shown
  var opener = null;
  var openedFrom = "";  // the card of the thumbnail it was opened from, to find it again once redrawn

  function byId(id) { return document.getElementById(id); }
  function imageCards() {
    return Array.prototype.slice.call(document.querySelectorAll('#feedback-attachments [data-kind="image"]'));
  }

  function showCard(card, list) {
    var dlg = byId("attachment-viewer");
    var name = card.getAttribute("data-name");
    var at = list.indexOf(card);
    current = card.getAttribute("data-attachment");
    var img = byId("viewer-image");
    if (img.getAttribute("src") !== card.getAttribute("data-src")) {
      img.removeAttribute("src");
      img.setAttribute("src", card.getAttribute("data-src"));
    }
    img.alt = name;
    byId("viewer-title").textContent = name;
    byId("viewer-count").textContent = "Image " + (at + 1) + " of " + list.length;
    byId("viewer-full").setAttribute("href", card.getAttribute("data-src"));
    byId("viewer-download").setAttribute("href", card.getAttribute("data-download"));
    var del = byId("viewer-delete");
    del.setAttribute("action", card.getAttribute("data-delete"));
    del.setAttribute("data-confirm", "Delete " + name + "? It cannot be brought back.");
    var text = byId("viewer-text");
    var source = card.querySelector(".attachment-text");
    text.replaceChildren();
    if (source) {
      source.childNodes.forEach(function (node) {
        if (!(node.classList && node.classList.contains("ocr-label"))) text.appendChild(node.cloneNode(true));
      });
    }
    dlg.querySelectorAll("[data-viewer=prev], [data-viewer=next]").forEach(function (b) { b.hidden = list.length < 2; });
  }

  function move(step) {
    var list = imageCards();
    if (!list.length) return closeViewer();
    var at = list.findIndex(function (c) { return c.getAttribute("data-attachment") === current; });
    showCard(list[((at < 0 ? 0 : at) + step + list.length) % list.length], list);
  }

  function closeViewer() {
    var dlg = byId("attachment-viewer");
    if (dlg && dlg.open) dlg.close();
  }

  function openViewer(card) {
    var dlg = byId("attachment-viewer");
    if (!dlg || typeof dlg.showModal !== "function") return false;
    opener = document.activeElement;
    openedFrom = card.id;
    showCard(card, imageCards());
    if (!dlg.open) dlg.showModal();
    dlg.querySelector("[data-viewer=close]").focus();
    return true;
  }

  document.addEventListener("click", function (evt) {
    var link = evt.target.closest && evt.target.closest("[data-open-viewer]");
    if (link) {
      var card = link.closest("[data-attachment]");
      if (card && openViewer(card)) evt.preventDefault();
      return;
    }
    var button = evt.target.closest && evt.target.closest("#attachment-viewer [data-viewer]");
    if (button) {
      var what = button.getAttribute("data-viewer");
      if (what === "close") closeViewer();
      else move(what === "next" ? 1 : -1);
      return;
    }
    if (evt.target.id === "attachment-viewer") closeViewer();  // a click on the backdrop
  });

  document.addEventListener("keydown", function (evt) {
    var dlg = byId("attachment-viewer");
    if (!dlg || !dlg.open || evt.altKey || evt.ctrlKey || evt.metaKey) return;
    if (evt.key === "ArrowRight" || evt.key === "ArrowLeft") {
      evt.preventDefault();
      move(evt.key === "ArrowRight" ? 1 : -1);
    }
  });

  document.addEventListener("close", function (evt) {
    if (evt.target.id !== "attachment-viewer") return;
    var back = opener && document.documentElement.contains(opener) ? opener
      : (openedFrom && document.querySelector("#" + openedFrom + " [data-open-viewer]"))
        || document.querySelector("#attachment-" + current + " [data-open-viewer]") || byId("files-h");
    if (back) {
      if (!back.matches("a, button, [tabindex]")) back.setAttribute("tabindex", "-1");
      back.focus();
    }
    opener = null;
  }, true);  // "close" does not bubble: listen while it travels down

  document.addEventListener("htmx:afterSwap", function () {  // the cards were redrawn: show what they say now
    var dlg = byId("attachment-viewer");
    if (!dlg || !dlg.open) return;
    var list = imageCards();
    var card = list.find(function (c) { return c.getAttribute("data-attachment") === current; });
    if (card) showCard(card, list);
    else closeViewer();
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawCharts);
  else drawCharts();
})();
