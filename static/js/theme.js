/* The theme: light, dark, or following the device (no data-theme on <html>).

   The server renders the saved choice (templates/base.html), so a page never flashes the
   wrong colours; this script only changes it afterwards:
   - the top bar's moon/sun button flips light <-> dark at once and saves the choice
     (POST /settings/me/theme/, the same form that works without scripts);
   - a `threshold:theme` event on document does the same (the command palette sends it;
     `detail.theme` = "light" | "dark" | "system" picks one, no detail toggles);
   - the Theme choice on /settings/me/ previews at once (saved with the form).
   After every change `threshold:themechange` is sent on document with
   `detail = {theme, effective}`, so charts can read their colours again.
   No globals besides window.thresholdTheme. */
(function () {
  "use strict";

  var root = document.documentElement;
  var THEMES = ["light", "dark", "system"];
  var darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function chosen() {
    var theme = root.getAttribute("data-theme");
    return theme === "light" || theme === "dark" ? theme : "system";
  }

  function effective() {
    var theme = chosen();
    if (theme !== "system") {
      return theme;
    }
    return darkQuery && darkQuery.matches ? "dark" : "light";
  }

  function toggleForm() {
    return document.querySelector("form[data-theme-toggle]");
  }

  function syncButton() {
    var form = toggleForm();
    if (!form) {
      return;
    }
    var button = form.querySelector("button[name=theme]");
    var next = effective() === "dark" ? "light" : "dark";
    var template = form.querySelector("template[data-label-" + next + "]");
    var label = template ? template.content.textContent.trim() : "";
    button.value = next;
    if (label) {
      button.setAttribute("aria-label", label);
      button.setAttribute("title", label);
    }
    var icon = button.querySelector(".bi");
    if (icon) {
      icon.className = "bi " + (next === "light" ? "bi-sun" : "bi-moon-stars");
    }
  }

  function announce() {
    document.dispatchEvent(
      new CustomEvent("threshold:themechange", { detail: { theme: chosen(), effective: effective() } })
    );
  }

  function apply(theme) {
    if (THEMES.indexOf(theme) < 0) {
      return;
    }
    if (theme === "system") {
      root.removeAttribute("data-theme");
      root.removeAttribute("data-bs-theme");
    } else {
      root.setAttribute("data-theme", theme);
      root.setAttribute("data-bs-theme", theme);
    }
    var sheet = document.getElementById("theme-dark");
    if (sheet) {
      sheet.media = { dark: "all", light: "not all", system: "(prefers-color-scheme: dark)" }[theme];
    }
    var meta = document.querySelector('meta[name="color-scheme"]');
    if (meta) {
      meta.content = { dark: "dark", light: "light", system: "light dark" }[theme];
    }
    syncButton();
    announce();
  }

  function save(theme) {
    var form = toggleForm();
    if (!form || !window.fetch) {
      return;
    }
    var body = new FormData(form);
    body.set("theme", theme);
    window
      .fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
      .catch(function () {
        /* Offline: the page already shows the theme; the next save stores it. */
      });
  }

  function choose(theme) {
    apply(theme);
    save(theme);
  }

  function toggle() {
    choose(effective() === "dark" ? "light" : "dark");
  }

  document.addEventListener("threshold:theme", function (event) {
    var wanted = event.detail && event.detail.theme;
    if (THEMES.indexOf(wanted) >= 0) {
      choose(wanted);
    } else {
      toggle();
    }
  });

  if (darkQuery) {
    var onDeviceChange = function () {
      if (chosen() === "system") {
        syncButton();
        announce();
      }
    };
    if (darkQuery.addEventListener) {
      darkQuery.addEventListener("change", onDeviceChange);
    } else if (darkQuery.addListener) {
      darkQuery.addListener(onDeviceChange);
    }
  }

  function wire() {
    var form = toggleForm();
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        toggle();
      });
    }
    // The settings page: preview a Theme choice at once; the form's Save stores it.
    document.querySelectorAll("input[data-theme-choice]").forEach(function (input) {
      input.addEventListener("change", function () {
        if (input.checked) {
          apply(input.value);
        }
      });
    });
    syncButton();
  }

  window.thresholdTheme = { apply: apply, choose: choose, toggle: toggle, effective: effective };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
