// A deal's candle chart: candles from the exchange, the deal's fills as markers, its levels as price lines.
(function () {
  "use strict";
  var COLORS = { base: "#4da3ff", safety: "#f5b041", take_profit: "#2ecc71", stop: "#ff5c5c", average: "#b39ddb" };
  function snap(times, t) {
    // the open time of the candle holding t (markers sit on a bar)
    var lo = 0, hi = times.length - 1, best = times[0];
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (times[mid] <= t) { best = times[mid]; lo = mid + 1; } else { hi = mid - 1; }
    }
    return best;
  }
  async function draw() {
    var element = document.getElementById("chart");
    var note = document.getElementById("chart-note");
    if (!element || !window.LightweightCharts) { return; }
    var response = await fetch(element.getAttribute("data-src"), { credentials: "same-origin" });
    var data = await response.json();
    if (!response.ok) { note.textContent = data.detail || "no chart"; return; }
    var LC = window.LightweightCharts;
    var chart = LC.createChart(element, {
      autoSize: true,
      // attributionLogo: the logo injects a <style> element (refused by the CSP); the page credits the library instead
      layout: { background: { color: "#171e26" }, textColor: "#d8dee6", attributionLogo: false },
      grid: { vertLines: { color: "#222c38" }, horzLines: { color: "#222c38" } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    var series = chart.addSeries(LC.CandlestickSeries, {
      upColor: "#2ecc71", downColor: "#ff5c5c", wickUpColor: "#2ecc71", wickDownColor: "#ff5c5c", borderVisible: false,
      autoscaleInfoProvider: function (original) {
        // keep the deal's levels (safety orders, take-profit, stop) in view, not only the candles
        var result = original();
        var prices = data.lines.map(function (l) { return Number(l.price); });
        if (result && result.priceRange && prices.length) {
          result.priceRange.minValue = Math.min(result.priceRange.minValue, Math.min.apply(null, prices));
          result.priceRange.maxValue = Math.max(result.priceRange.maxValue, Math.max.apply(null, prices));
        }
        return result;
      },
    });
    var candles = data.candles.map(function (c) {
      return { time: c.time, open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close) };
    });
    series.setData(candles);
    data.lines.forEach(function (line) {
      series.createPriceLine({
        price: Number(line.price), color: COLORS[line.kind] || "#8a97a6", lineWidth: 1,
        lineStyle: line.kind === "average" ? LC.LineStyle.Dotted : LC.LineStyle.Dashed, axisLabelVisible: true, title: line.label,
      });
    });
    if (candles.length) {
      var times = candles.map(function (c) { return c.time; });
      var markers = data.markers.map(function (m) {
        var buy = m.side === "buy";
        return {
          time: snap(times, m.time), position: buy ? "belowBar" : "aboveBar", color: buy ? "#4da3ff" : "#f5b041",
          shape: buy ? "arrowUp" : "arrowDown", text: m.label + " " + m.price,
        };
      });
      LC.createSeriesMarkers(series, markers);
      chart.timeScale().fitContent();
    }
    element.setAttribute("data-drawn", String(candles.length));
    note.textContent = data.error || (candles.length + " candles of " + data.pair + "; " + data.markers.length + " fill(s); levels: " +
      data.lines.map(function (l) { return l.label + " " + l.price; }).join(", "));
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
