/* Live SLA countdown: badges rendered by {% sla_badge %} tick every 30 seconds from their
   stored due time, turning amber at the warning point and red when due. The server's
   rendering stays the truth; this only keeps an open page from going stale. */
(function () {
  "use strict";
  var node = document.getElementById("sla-labels");
  if (!node) return;
  var labels = JSON.parse(node.textContent);

  function fill(template, values) {
    return template.replace(/%\((\w+)\)[sd]/g, function (_, key) {
      return values[key];
    });
  }

  function duration(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    if (days) return hours ? fill(labels.dh, { d: days, h: hours }) : fill(labels.d, { d: days });
    if (hours) return mins ? fill(labels.hm, { h: hours, m: mins }) : fill(labels.h, { h: hours });
    if (mins) return fill(labels.m, { m: mins });
    return labels.lt;
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-sla-due]").forEach(function (badge) {
      var due = Date.parse(badge.dataset.slaDue);
      var warn = Date.parse(badge.dataset.slaWarn);
      var state = due <= now ? "overdue" : warn <= now ? "at_risk" : "running";
      var text = state === "overdue"
        ? fill(labels.overdue, { late: duration(now - due) })
        : fill(labels.left, { left: duration(due - now) });
      var label = badge.querySelector(".sla-badge-text");
      if (label && label.textContent !== text) label.textContent = text;
      if (badge.dataset.slaState !== state) {
        badge.classList.remove("sla-" + badge.dataset.slaState);
        badge.classList.add("sla-" + state);
        badge.dataset.slaState = state;
        var icon = badge.querySelector("i.bi");
        if (icon) icon.className = "bi " + labels.icons[state];
        var hidden = badge.querySelector(".visually-hidden");
        if (hidden) hidden.textContent = " (" + labels.states[state] + ")";
      }
    });
  }

  tick();
  window.setInterval(tick, 30000);
  document.addEventListener("htmx:afterSwap", tick);
})();
