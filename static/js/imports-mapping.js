/* The import's mapping step: what only matters for a mapped field shows while a column is
 * mapped to it. An element with `data-shown-with="<field>"` (the created date's format)
 * is hidden unless a column's select (`select.import-target`) names that field. The page
 * renders it shown or hidden as saved; this follows the selects as they change. No
 * inline script anywhere: the CSP forbids it.
 */
(function () {
  "use strict";

  function mapped() {
    const fields = new Set();
    document.querySelectorAll("select.import-target").forEach((select) => {
      if (select.value) fields.add(select.value);
    });
    return fields;
  }

  function update() {
    const fields = mapped();
    document.querySelectorAll("[data-shown-with]").forEach((el) => {
      el.hidden = !fields.has(el.dataset.shownWith);
    });
  }

  document.addEventListener("change", (event) => {
    if (event.target instanceof HTMLSelectElement && event.target.matches(".import-target")) {
      update();
    }
  });
})();
