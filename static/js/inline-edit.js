/* Inline edit in lists (crm/_inline_cell.html, an htmx fragment per cell, so every
 * handler is delegated): Enter saves, Esc cancels, the editor's first input takes the
 * focus when it opens and the value gets it back when it closes.
 *
 * htmx 2 leaves 4xx answers out of the page; an inline editor's 400 (a value the edit
 * page's form or service refuses) and 409 (someone saved the record meanwhile) ARE the
 * editor, with its problem, so they are swapped in. A 403 or 404 (the record became
 * someone else's, or gone) is said in the cell. No inline script: the CSP forbids it.
 */
(function () {
  "use strict";

  // /jsi18n/ (loaded first by base.html) defines gettext; its msgids live in djangojs.po.
  const gettext = typeof window.gettext === "function" ? window.gettext : (text) => text;
  let returnFocus = false;

  function cellOf(node) {
    return node instanceof Element ? node.closest("[data-inline]") : null;
  }

  document.addEventListener("htmx:beforeSwap", (event) => {
    if (!cellOf(event.detail.elt)) return;
    const status = event.detail.xhr.status;
    if (status === 400 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:responseError", (event) => {
    const cell = cellOf(event.detail.elt);
    if (!cell) return;
    const status = event.detail.xhr.status;
    let text = gettext("Not saved: try again.");
    if (status === 403) text = gettext("You may not edit this.");
    else if (status === 404) text = gettext("This record is gone, or no longer yours to see.");
    let note = cell.querySelector("[data-inline-problem]");
    if (!note) {
      note = document.createElement("div");
      note.className = "field-error";
      note.setAttribute("role", "alert");
      note.setAttribute("data-inline-problem", "");
      note.setAttribute("data-testid", "inline-problem");
      cell.appendChild(note);
    }
    note.textContent = text;
  });

  document.addEventListener("htmx:load", (event) => {
    const cell = event.detail.elt;
    if (!(cell instanceof Element) || !cell.matches("[data-inline]")) return;
    const field = cell.querySelector("form input:not([type=hidden]), form select, form textarea");
    if (field) {
      field.focus();
      if (field instanceof HTMLInputElement && field.type !== "date") field.select();
    } else if (returnFocus) {
      const open = cell.querySelector("[data-testid=inline-open]");
      if (open) open.focus();
    }
    returnFocus = false;
  });

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (!(target instanceof HTMLElement)) return;
    const form = target.closest("[data-inline] form");
    if (!form) return;
    if (event.key === "Escape") {
      const cancel = form.querySelector("[data-inline-cancel]");
      if (!cancel) return;
      event.preventDefault();
      event.stopPropagation();
      returnFocus = true;
      cancel.click();
    } else if (event.key === "Enter" && !event.isComposing && target.matches("input, select")) {
      event.preventDefault();
      returnFocus = true;
      form.requestSubmit();
    }
  });
})();
