/* Bulk actions on a list: row checkboxes, "select all on this page", "all matching the
 * filter", and the bulk bar (an htmx fragment, so every handler is delegated).
 *
 * A list holding `[data-bulk]` has `input[data-bulk-row]` per row (value: the row's id)
 * and `input[data-bulk-all]` in its header. The bar (`form[data-bulk-bar]`) shows when a
 * row is ticked; its action select (`[data-bulk-action]`) shows the parameters of that
 * action (`[data-bulk-params=<action>]`) and enables only those, so the browser checks
 * only what the chosen action needs. On submit the ticked ids are added to the form,
 * unless the scope is "filter" (every row the list's filter matches, resolved by the
 * server). No inline script anywhere: the CSP forbids it.
 */
(function () {
  "use strict";

  function rows() {
    return Array.from(document.querySelectorAll("input[data-bulk-row]"));
  }

  function bar() {
    return document.querySelector("form[data-bulk-bar]");
  }

  function setScope(form, scope) {
    const input = form.querySelector("[data-bulk-scope]");
    if (input) input.value = scope;
    form.querySelectorAll("[data-bulk-when]").forEach((el) => {
      el.hidden = el.dataset.bulkWhen !== scope;
    });
  }

  function showParams(form) {
    const select = form.querySelector("[data-bulk-action]");
    const action = select ? select.value : "";
    form.querySelectorAll("[data-bulk-params]").forEach((group) => {
      const on = group.dataset.bulkParams === action;
      group.hidden = !on;
      group.querySelectorAll("input, select, textarea").forEach((field) => {
        field.disabled = !on;
      });
    });
  }

  function update() {
    const ticked = rows().filter((box) => box.checked);
    const all = document.querySelector("input[data-bulk-all]");
    if (all) {
      all.checked = ticked.length > 0 && ticked.length === rows().length;
      all.indeterminate = ticked.length > 0 && ticked.length < rows().length;
    }
    const form = bar();
    if (!form) return;
    const count = form.querySelector("[data-bulk-count]");
    if (count) count.textContent = String(ticked.length);
    form.hidden = ticked.length === 0;
    if (ticked.length === 0) setScope(form, "ids");
    showParams(form);
  }

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (!(target instanceof HTMLElement)) return;
    if (target.matches("input[data-bulk-all]")) {
      const checked = target.checked;
      rows().forEach((box) => {
        box.checked = checked;
      });
      update();
    } else if (target.matches("input[data-bulk-row]")) {
      const form = bar();
      if (form) setScope(form, "ids"); // a hand-picked selection is no longer "all matching"
      update();
    } else if (target.matches("[data-bulk-action]")) {
      showParams(target.closest("form"));
    }
  });

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const form = bar();
    if (!form) return;
    if (target.closest("[data-bulk-matching]")) {
      rows().forEach((box) => {
        box.checked = true;
      });
      update();
      setScope(form, "filter");
    } else if (target.closest("[data-bulk-clear]")) {
      rows().forEach((box) => {
        box.checked = false;
      });
      update();
    }
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches("form[data-bulk-bar]")) return;
    form.querySelectorAll("input[data-bulk-id]").forEach((input) => input.remove());
    const scope = form.querySelector("[data-bulk-scope]");
    if (scope && scope.value === "filter") return;
    rows()
      .filter((box) => box.checked)
      .forEach((box) => {
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = "ids";
        input.value = box.value;
        input.setAttribute("data-bulk-id", "");
        form.appendChild(input);
      });
  });

  // The bar arrives by htmx after the page: show it at once if rows were ticked already
  // (a page restored from the back/forward cache keeps its ticks).
  document.addEventListener("htmx:load", update);
  document.addEventListener("DOMContentLoaded", update);
})();
