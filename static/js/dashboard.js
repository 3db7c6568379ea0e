/* Reports: draws the charts from the page's JSON (the tables beside them hold the same
   figures), and keeps the period select and the date inputs in step. No globals besides
   Chart (vendored) and window.thresholdCharts (for tests). */
(function () {
  "use strict";

  // The palette lives in CSS (--th-chart-* in threshold.css, dark values in theme-dark.css);
  // read when the charts are drawn and again when the theme changes.
  var COLORS = {};
  var STATUS_COLORS = {};
  var FUNNEL_STEPS = [];

  function readColors() {
    var style = getComputedStyle(document.documentElement);
    function css(name, fallback) {
      return style.getPropertyValue("--th-chart-" + name).trim() || fallback;
    }
    COLORS = {
      accent: css("accent", "#4f46e5"),
      accentSoft: css("accent-soft", "rgba(99, 102, 241, 0.18)"),
      teal: css("teal", "#14b8a6"),
      amber: css("amber", "#f59e0b"),
      indigo: css("indigo", "#6366f1"),
      rose: css("rose", "#e11d48"),
      slate: css("slate", "#94a3b8"),
      band: css("band", "#e2e8f0"),
      grid: css("grid", "#eef0f5"),
      muted: css("text", "#525c70"),
      tooltip: css("tooltip", "#0f172a"),
      tooltipText: css("tooltip-text", "#ffffff"),
    };
    STATUS_COLORS = { within: COLORS.teal, below: COLORS.amber, above: COLORS.indigo };
    FUNNEL_STEPS = css("steps", "#a5b4fc, #818cf8, #6366f1, #4f46e5, #14b8a6")
      .split(",")
      .map(function (color) {
        return color.trim();
      });
  }

  var lang = document.documentElement.lang || "en";
  var numberFormat = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  var compactFormat = new Intl.NumberFormat(lang, { notation: "compact", maximumFractionDigits: 1 });

  var LABELS = {};

  function t(key) {
    return LABELS[key] || key;
  }

  function fmt(value) {
    return value === null || value === undefined ? "—" : numberFormat.format(value);
  }

  function reducedMotion() {
    return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  function baseOptions(extra) {
    extra = extra || {};
    var plugins = extra.plugins || {};
    var options = Object.assign(
      {
        datasets: { bar: { maxBarThickness: 28 } },
        responsive: true,
        maintainAspectRatio: false,
        animation: reducedMotion() ? false : { duration: 350 },
        scales: {},
      },
      extra
    );
    // A chart's own plugin settings add to the shared ones (the tooltip keeps its colours).
    options.plugins = Object.assign({ legend: { display: false } }, plugins);
    options.plugins.tooltip = Object.assign(
      {
        backgroundColor: COLORS.tooltip,
        titleColor: COLORS.tooltipText,
        bodyColor: COLORS.tooltipText,
        footerColor: COLORS.tooltipText,
        padding: 10,
        cornerRadius: 6,
        titleFont: { weight: "600" },
      },
      plugins.tooltip || {}
    );
    return options;
  }

  function axis(extra) {
    return Object.assign(
      {
        grid: { color: COLORS.grid, drawTicks: false },
        border: { display: false },
        ticks: { color: COLORS.muted, font: { size: 11 }, padding: 6 },
      },
      extra || {}
    );
  }

  var builders = {
    conversion: function (data) {
      var bands = data.lows.map(function (low, i) {
        return low === null ? null : [low, data.highs[i]];
      });
      var colors = data.statuses.map(function (status) {
        return STATUS_COLORS[status] || COLORS.slate;
      });
      var max = Math.max.apply(
        null,
        [10].concat(data.rates.filter(Boolean), data.highs.filter(Boolean))
      );
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            {
              label: t("benchmark_range"),
              data: bands,
              backgroundColor: COLORS.band,
              borderRadius: 3,
              barPercentage: 0.9,
              categoryPercentage: 0.9,
              grouped: false,
              order: 2,
            },
            {
              label: t("conversion_rate"),
              data: data.rates,
              backgroundColor: colors,
              borderRadius: 3,
              barPercentage: 0.42,
              categoryPercentage: 0.9,
              grouped: false,
              order: 1,
            },
          ],
        },
        options: baseOptions({
          indexAxis: "y",
          scales: {
            x: axis({
              min: 0,
              suggestedMax: Math.ceil(max / 5) * 5 + 5,
              ticks: {
                color: COLORS.muted,
                font: { size: 11 },
                callback: function (v) {
                  return v + " %";
                },
              },
            }),
            y: axis({ grid: { display: false } }),
          },
          plugins: {
            legend: { display: false },
            tooltip: {
              callbacks: {
                label: function (ctx) {
                  if (ctx.datasetIndex === 0) {
                    var band = ctx.raw;
                    return band ? t("benchmark") + ": " + fmt(band[0]) + "–" + fmt(band[1]) + " %" : "";
                  }
                  return t("rate") + ": " + fmt(ctx.raw) + " % · " + fmt(data.leads[ctx.dataIndex]) + " " + t("leads");
                },
              },
            },
          },
        }),
      };
    },

    funnel: function (data) {
      var palette = FUNNEL_STEPS;
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            {
              label: t("leads"),
              data: data.counts,
              backgroundColor: palette,
              borderRadius: 4,
              barPercentage: 0.78,
            },
          ],
        },
        options: baseOptions({
          indexAxis: "y",
          scales: {
            x: axis({ beginAtZero: true, ticks: { color: COLORS.muted, callback: compact } }),
            y: axis({ grid: { display: false } }),
          },
        }),
      };
    },

    stages: function (data) {
      var open = data.counts.map(function (count, i) {
        return count - data.stale[i];
      });
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            { label: t("moving"), data: open, backgroundColor: COLORS.indigo, borderRadius: 3, stack: "s" },
            { label: t("stale"), data: data.stale, backgroundColor: COLORS.amber, borderRadius: 3, stack: "s" },
          ],
        },
        options: baseOptions({
          indexAxis: "y",
          scales: {
            x: axis({ stacked: true, beginAtZero: true, ticks: { color: COLORS.muted, callback: compact } }),
            y: axis({ stacked: true, grid: { display: false } }),
          },
          plugins: { legend: legendBottom() },
        }),
      };
    },

    forecast: function (data, canvas) {
      var currency = canvas.dataset.currency || data.currencies[0];
      var series = data.series[currency] || { labels: [], weighted: [], amount: [] };
      var config = {
        type: "bar",
        data: {
          labels: series.labels.map(monthLabel),
          datasets: [
            { label: t("weighted"), data: series.weighted, backgroundColor: COLORS.accent, borderRadius: 3 },
            { label: t("unweighted"), data: series.amount, backgroundColor: COLORS.accentSoft, borderRadius: 3 },
          ],
        },
        options: baseOptions({
          scales: {
            x: axis({ grid: { display: false } }),
            y: axis({ beginAtZero: true, ticks: { color: COLORS.muted, callback: compact } }),
          },
          plugins: {
            legend: legendBottom(),
            tooltip: {
              callbacks: {
                label: function (ctx) {
                  return ctx.dataset.label + ": " + currencyLabel(canvas) + " " + fmt(ctx.raw);
                },
              },
            },
          },
        }),
      };
      canvas.dataset.currency = currency || "";
      addCurrencySwitch(canvas, data);
      return config;
    },

    times: function (data) {
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            { label: data.stay_label, data: data.stay_days, backgroundColor: COLORS.indigo, borderRadius: 3 },
            { label: t("open_age"), data: data.open_age_days, backgroundColor: COLORS.amber, borderRadius: 3 },
          ],
        },
        options: baseOptions({
          indexAxis: "y",
          scales: {
            x: axis({ beginAtZero: true }),
            y: axis({ grid: { display: false } }),
          },
          plugins: { legend: legendBottom() },
        }),
      };
    },

    sla: function (data) {
      return {
        type: "bar",
        data: {
          labels: data.labels.map(shorten),
          datasets: [
            { label: t("met"), data: data.met, backgroundColor: COLORS.teal, stack: "s" },
            { label: t("breached"), data: data.breached, backgroundColor: COLORS.rose, stack: "s" },
            { label: t("overdue"), data: data.overdue, backgroundColor: COLORS.amber, stack: "s" },
          ],
        },
        options: baseOptions({
          indexAxis: "y",
          scales: {
            x: axis({ stacked: true, beginAtZero: true, ticks: { color: COLORS.muted, callback: compact } }),
            y: axis({ stacked: true, grid: { display: false } }),
          },
          plugins: { legend: legendBottom() },
        }),
      };
    },
  };

  function compact(value) {
    return compactFormat.format(value);
  }

  function shorten(label) {
    return label.length > 34 ? label.slice(0, 32) + "…" : label;
  }

  function monthLabel(value) {
    if (value === "past") {
      return t("past_due");
    }
    if (value === "later") {
      return t("later");
    }
    var parts = value.split("-");
    var date = new Date(Date.UTC(+parts[0], +parts[1] - 1, 1));
    return date.toLocaleDateString(lang, { month: "short", year: "2-digit", timeZone: "UTC" });
  }

  function legendBottom() {
    return {
      display: true,
      position: "bottom",
      labels: { boxWidth: 10, boxHeight: 10, color: COLORS.muted, font: { size: 11 } },
    };
  }

  function currencyLabel(canvas) {
    return canvas.dataset.currency || "";
  }

  function addCurrencySwitch(canvas, data) {
    var box = canvas.closest(".chart-box");
    if (data.currencies.length < 2 || box.querySelector(".chart-tools")) {
      return; // one currency, or the switch is there already (a redraw)
    }
    var select = document.createElement("select");
    select.className = "form-select form-select-sm";
    select.setAttribute("aria-label", t("currency"));
    data.currencies.forEach(function (currency) {
      var option = document.createElement("option");
      option.value = currency;
      option.textContent = currency;
      select.appendChild(option);
    });
    select.addEventListener("change", function () {
      var chart = window.Chart.getChart(canvas);
      var series = data.series[select.value];
      canvas.dataset.currency = select.value;
      chart.data.labels = series.labels.map(monthLabel);
      chart.data.datasets[0].data = series.weighted;
      chart.data.datasets[1].data = series.amount;
      chart.update();
    });
    var tools = document.createElement("div");
    tools.className = "chart-tools mb-2";
    var note = document.createElement("span");
    note.className = "text-muted small";
    note.textContent = t("currency");
    tools.appendChild(note);
    tools.appendChild(select);
    box.insertBefore(tools, canvas.closest(".chart-canvas"));
  }

  function drawCharts() {
    var source = document.getElementById("report-charts");
    if (!source || !window.Chart) {
      return;
    }
    var data = JSON.parse(source.textContent);
    LABELS = data.labels || {};
    readColors();
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = COLORS.muted;
    window.Chart.defaults.borderColor = COLORS.grid;
    var previous = window.thresholdCharts || {};
    window.thresholdCharts = {};
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var name = canvas.dataset.chart;
      var build = builders[name];
      if (!build || !data[name]) {
        return;
      }
      if (previous[name]) {
        previous[name].destroy(); // drawn again in the new theme's colours
      }
      var chart = new window.Chart(canvas, build(data[name], canvas));
      window.thresholdCharts[name] = chart;
      canvas.dataset.rendered = "true";
    });
  }

  function periodControls() {
    var form = document.querySelector("[data-report-filters]");
    if (!form) {
      return;
    }
    var period = form.querySelector("[data-period]");
    var dates = form.querySelectorAll("[data-date]");
    dates.forEach(function (input) {
      input.addEventListener("change", function () {
        period.value = "custom";
      });
    });
    form.addEventListener("submit", function () {
      // A named period wins over stale dates; custom dates need no period parameter.
      if (period.value && period.value !== "custom") {
        dates.forEach(function (input) {
          input.disabled = true;
        });
      } else {
        period.disabled = true;
      }
      form.querySelectorAll("select, input").forEach(function (field) {
        if (!field.value && field.name) {
          field.disabled = true;
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    periodControls();
  });
  // static/js/theme.js: the theme changed (the switch, or the device's setting).
  document.addEventListener("threshold:themechange", drawCharts);
})();
