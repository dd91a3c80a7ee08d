/* Draw the monitoring charts with uPlot from the JSON the page carries. Without JavaScript the
   tables below each chart show the same numbers. */
(function () {
  "use strict";
  var PALETTE = ["#1565c0", "#6a1b9a", "#00838f", "#ad1457", "#558b2f", "#4e342e", "#ef6c00",
                 "#37474f", "#c0ca33", "#5e35b1", "#00acc1", "#8d6e63"];
  var BOUND = "#c62828", MARK = "#607d8b";

  function boundsAndMarks(chart) {
    return function (u) {
      var ctx = u.ctx, left = u.bbox.left, top = u.bbox.top, width = u.bbox.width, height = u.bbox.height;
      ctx.save();
      ctx.lineWidth = 1.5 * devicePixelRatio;
      ctx.font = (11 * devicePixelRatio) + "px system-ui, sans-serif";
      ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
      chart.bounds.forEach(function (b) {
        var y = u.valToPos(b.value, "y", true);
        if (y < top || y > top + height) return;
        ctx.strokeStyle = BOUND; ctx.fillStyle = BOUND;
        ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + width, y); ctx.stroke();
        var w = ctx.measureText(b.label).width;
        ctx.fillText(b.label, left + width - w - 4 * devicePixelRatio, y - 4 * devicePixelRatio);
      });
      chart.marks.forEach(function (m) {
        var x = u.valToPos(m.x, "x", true);
        if (x < left || x > left + width) return;
        ctx.strokeStyle = MARK; ctx.fillStyle = MARK;
        ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
        var w = ctx.measureText(m.label).width;
        var tx = x + w + 8 * devicePixelRatio > left + width ? x - w - 4 * devicePixelRatio : x + 4 * devicePixelRatio;
        ctx.fillText(m.label, tx, top + 12 * devicePixelRatio);
      });
      ctx.restore();
    };
  }

  function draw(chart, el) {
    var data = [chart.x], series = [{}], bands = [], hidden = [];
    chart.series.forEach(function (s, i) {
      var colour = PALETTE[i % PALETTE.length];
      var idx = data.length;
      data.push(s.values);
      series.push({label: s.label, stroke: colour, width: i === 0 ? 2.2 : 1.4,
                   points: {show: true, size: i === 0 ? 6 : 4}, spanGaps: false});
      if (s.low && s.high) {
        data.push(s.high); series.push({label: s.label + " high", stroke: "transparent", points: {show: false}});
        data.push(s.low); series.push({label: s.label + " low", stroke: "transparent", points: {show: false}});
        hidden.push(idx + 1, idx + 2);
        bands.push({series: [idx + 1, idx + 2], fill: "rgba(21,101,192,0.14)"});
      }
    });
    var values = [];
    chart.series.forEach(function (s) {
      [s.values, s.low || [], s.high || []].forEach(function (arr) {
        arr.forEach(function (v) { if (v !== null && isFinite(v)) values.push(v); });
      });
    });
    chart.bounds.forEach(function (b) { values.push(b.value); });
    var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
    var xs = chart.x.concat(chart.marks.map(function (m) { return m.x; }));
    var step = chart.x.length > 1 ? chart.x[chart.x.length - 1] - chart.x[chart.x.length - 2] : 86400;
    var xlo = Math.min.apply(null, xs), xhi = Math.max.apply(null, xs.concat([chart.x[chart.x.length - 1] + step / 4]));
    var pad = (hi - lo) * 0.08 || 0.05;
    var opts = {
      width: Math.max(320, el.clientWidth || el.parentNode.clientWidth - 24),
      height: 260,
      series: series,
      bands: bands,
      scales: {x: {time: true, range: [xlo, xhi]}, y: {range: [lo - pad, hi + pad]}},
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      axes: [{stroke: "#5f6b76", grid: {stroke: "#eef2f5"}}, {stroke: "#5f6b76", grid: {stroke: "#eef2f5"}, size: 60}],
      legend: {live: true},
      hooks: {draw: [boundsAndMarks(chart)]}
    };
    var plot = new uPlot(opts, data, el);
    var rows = plot.root.querySelectorAll(".u-legend .u-series");
    hidden.forEach(function (i) { if (rows[i]) rows[i].style.display = "none"; });
    el.uplot = plot;
    el.setAttribute("data-drawn", String(chart.x.length));
    window.addEventListener("resize", function () {
      plot.setSize({width: Math.max(320, el.clientWidth), height: 260});
    });
  }

  function main() {
    var block = document.getElementById("chart-data");
    if (!block || typeof uPlot === "undefined") return;
    var charts = JSON.parse(block.textContent);
    window.charterCharts = {};
    charts.forEach(function (chart) {
      var el = document.querySelector('[data-chart="' + chart.id + '"]');
      if (!el || !chart.x.length) return;
      draw(chart, el);
      window.charterCharts[chart.id] = el.uplot;
      var table = document.querySelector('[data-fallback="' + chart.id + '"]');
      if (table) {
        table.hidden = true;
        var toggle = document.createElement("button");
        toggle.type = "button"; toggle.className = "link small"; toggle.textContent = "Show the numbers";
        toggle.addEventListener("click", function () {
          table.hidden = !table.hidden;
          toggle.textContent = table.hidden ? "Show the numbers" : "Hide the numbers";
        });
        table.parentNode.insertBefore(toggle, table);
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
  else main();
})();
