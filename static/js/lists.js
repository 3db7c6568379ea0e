/* Lists: compact density, the column chooser, and the columns a saved view keeps.
 *
 * A list is an element with `data-list` (its key: "leads", "opportunities", ...) and
 * `data-list-user` (whose preferences), holding a `table[data-list-table]` whose header
 * cells name their column in `data-col` (`data-col-fixed`: never hidden). Choices are
 * remembered in localStorage per user and list (density per user). A URL carrying
 * `columns=a,b` (a saved view) shows those columns without touching the remembered
 * choice; changing columns there rewrites the URL instead. The Save view form is sent
 * with the visible columns. Sorting, filters and pages are plain links and forms: this
 * file only adds what needs no server. No inline script anywhere: the CSP forbids it.
 */
(function () {
  "use strict";

  const COLUMNS_PARAM = "columns";

  function load(key) {
    try {
      return JSON.parse(window.localStorage.getItem(key) || "null");
    } catch (error) {
      return null; // storage blocked or a value not ours: the defaults
    }
  }

  function store(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, JSON.stringify(value));
    } catch (error) {
      /* private mode: nothing remembered, the page still works */
    }
  }

  function headerCells(table) {
    return table && table.tHead && table.tHead.rows.length ? Array.from(table.tHead.rows[0].cells) : [];
  }

  function setup(list) {
    const table = list.querySelector("table[data-list-table]");
    const tools = list.querySelector("[data-list-tools]");
    const user = list.dataset.listUser || "anonymous";
    const columnsKey = "threshold:" + user + ":" + list.dataset.list + ":columns";
    const densityKey = "threshold:" + user + ":density";
    const columns = headerCells(table)
      .filter((th) => th.dataset.col)
      .map((th) => ({
        name: th.dataset.col,
        index: th.cellIndex,
        fixed: th.hasAttribute("data-col-fixed"),
        label: (th.querySelector(".sort-link") || th).textContent.trim(),
      }));
    const known = new Set(columns.map((column) => column.name));
    const fromUrl = new URL(window.location.href).searchParams.get(COLUMNS_PARAM);

    function clean(names) {
      if (!Array.isArray(names)) return null;
      const kept = names.filter((name) => known.has(name));
      return kept.length ? kept : null; // null: every column
    }

    let visible = clean(fromUrl !== null ? fromUrl.split(",") : load(columnsKey));

    function isShown(column) {
      return column.fixed || visible === null || visible.includes(column.name);
    }

    function apply() {
      if (!table) return;
      for (const column of columns) {
        const hidden = !isShown(column);
        for (const row of table.rows) {
          const cell = row.cells[column.index];
          if (cell) cell.classList.toggle("col-hidden", hidden);
        }
      }
    }

    function remember() {
      const all = columns.every((column) => column.fixed || visible === null || visible.includes(column.name));
      if (all) visible = null;
      if (fromUrl !== null) {
        const url = new URL(window.location.href);
        if (visible === null) url.searchParams.delete(COLUMNS_PARAM);
        else url.searchParams.set(COLUMNS_PARAM, visible.join(","));
        window.history.replaceState(window.history.state, "", url);
      } else {
        store(columnsKey, visible);
      }
    }

    function buildMenu(menu) {
      for (const column of columns) {
        if (column.fixed) continue;
        const label = document.createElement("label");
        label.className = "dropdown-item column-option";
        const box = document.createElement("input");
        box.type = "checkbox";
        box.className = "form-check-input me-2";
        box.value = column.name;
        box.checked = isShown(column);
        box.dataset.testid = "column-" + column.name;
        box.addEventListener("change", () => {
          const shown = columns.filter((c) => !c.fixed && (c === column ? box.checked : isShown(c)));
          visible = columns.filter((c) => c.fixed).map((c) => c.name).concat(shown.map((c) => c.name));
          remember();
          apply();
        });
        label.append(box, document.createTextNode(column.label));
        menu.append(label);
      }
    }

    function setDensity(compact) {
      if (table) table.classList.toggle("table-compact", compact);
      list.classList.toggle("is-compact", compact);
      const toggle = list.querySelector("[data-density-toggle]");
      if (toggle) toggle.setAttribute("aria-pressed", compact ? "true" : "false");
    }

    if (tools && table) {
      const menu = tools.querySelector("[data-column-menu]");
      if (menu) buildMenu(menu);
      const toggle = tools.querySelector("[data-density-toggle]");
      if (toggle) {
        toggle.addEventListener("click", () => {
          const compact = toggle.getAttribute("aria-pressed") !== "true";
          store(densityKey, compact);
          setDensity(compact);
        });
      }
      tools.hidden = false;
    }
    setDensity(load(densityKey) === true);
    apply();

    // Save view: the visible columns go with the filters and the sort.
    for (const form of document.querySelectorAll('form[data-save-view="' + list.dataset.list + '"]')) {
      form.addEventListener("submit", () => {
        const field = form.querySelector("input[name=columns]");
        if (field) field.value = visible === null ? "" : visible.join(",");
      });
    }
  }

  function start() {
    document.querySelectorAll("[data-list]").forEach(setup);
    // Deleting a view asks first (the question is the form's `data-confirm`).
    document.querySelectorAll("form[data-confirm]").forEach((form) => {
      form.addEventListener("submit", (event) => {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
