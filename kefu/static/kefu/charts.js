// Renders every [data-chart] element from a json_script data block (no inline scripts under CSP).
(function () {
  function render(el) {
    var source = document.getElementById(el.getAttribute("data-source"));
    if (!source || !window.echarts) { return; }
    var spec = JSON.parse(source.textContent);
    var chart = window.echarts.init(el);
    var kind = el.getAttribute("data-chart");
    var option;
    if (kind === "pie") {
      option = { title: { text: spec.title, left: "center", textStyle: { fontSize: 14 } }, tooltip: { trigger: "item" },
        legend: { bottom: 0 }, series: [{ type: "pie", radius: ["35%", "65%"], data: spec.data }] };
    } else {
      option = { title: { text: spec.title, left: "center", textStyle: { fontSize: 14 } }, tooltip: { trigger: "axis" },
        grid: { left: 40, right: 10, bottom: 40 }, xAxis: { type: "category", data: spec.labels },
        yAxis: { type: "value" }, series: [{ type: spec.type || "bar", data: spec.values }] };
    }
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function renderAll() { document.querySelectorAll("[data-chart]").forEach(render); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", renderAll); } else { renderAll(); }
})();
