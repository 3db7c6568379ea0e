/* The command palette (Ctrl+K / Cmd+K, "/"), the keyboard shortcuts ("?", "g" then a
 * letter, "n") and the top bar's search box. Markup: templates/workspace/_palette.html and
 * _search_box.html; data: GET /search/palette/?q= (workspace/views/search.py).
 *
 * The palette is a modal <dialog> holding an ARIA 1.2 combobox: the text field keeps the
 * focus, aria-activedescendant names the highlighted option of the listbox, whose options
 * sit in one group per kind (commands first). Arrow keys move, Enter opens, Esc closes.
 * Without JavaScript (or <dialog>) the top bar's box is a plain form to /search/.
 * Texts come from the page (<template data-text>), already translated. No eval, no inline
 * script, no HTML built from data: everything found is set as text (CSP, XSS).
 */
(function () {
  "use strict";

  const palette = document.querySelector("[data-palette]");
  if (!palette || typeof palette.showModal !== "function") return;

  const input = palette.querySelector(".palette-input");
  const list = palette.querySelector(".palette-list");
  const status = palette.querySelector("[data-palette-status]");
  const shortcuts = document.querySelector("[data-shortcuts]");
  const box = document.querySelector("[data-palette-box]");
  const boxInput = box ? box.querySelector("input[name=q]") : null;
  const endpoint = palette.dataset.url;
  const searchUrl = palette.dataset.searchUrl;
  const minLength = Number(palette.dataset.minLength) || 3;
  const DEBOUNCE_MS = 120;
  const CHORD_MS = 1500;
  const KIND_ICONS = {
    lead: "bi-inbox",
    opportunity: "bi-briefcase",
    account: "bi-building",
    contact: "bi-person",
  };

  let options = []; // [{element, item}] in display order
  let active = -1;
  let timer = null;
  let controller = null;
  let asked = null; // the query of the answer shown
  let enterPending = false; // Enter was pressed before the answer to the text came
  let returnFocus = null;
  let chordStarted = 0; // when "g" was pressed

  // --- texts ------------------------------------------------------------------------------

  function text(name, values) {
    const template = palette.querySelector('template[data-text="' + name + '"]');
    const raw = template ? template.content.textContent.trim() : "";
    return raw.replace(/\{(\w+)\}/g, (match, key) =>
      values && key in values ? String(values[key]) : match,
    );
  }

  if (/Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || "")) {
    document.querySelectorAll("[data-palette-key]").forEach((key) => (key.textContent = "⌘K"));
    document.querySelectorAll("[data-palette-mod]").forEach((key) => (key.textContent = "⌘"));
  }

  // --- opening and closing ------------------------------------------------------------------

  function anyDialogOpen() {
    return Boolean(document.querySelector("dialog[open], .modal.show, .offcanvas.show"));
  }

  function open(initial) {
    if (shortcuts && shortcuts.open) shortcuts.close();
    if (!palette.open) {
      returnFocus = document.activeElement;
      palette.showModal();
    }
    input.value = initial || "";
    list.replaceChildren(); // nothing from the last time shows while this answer comes
    options = [];
    status.textContent = "";
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    input.setAttribute("aria-expanded", "true");
    refresh(0);
  }

  function close() {
    if (palette.open) palette.close();
  }

  palette.addEventListener("close", () => {
    clearTimeout(timer);
    enterPending = false;
    asked = null;
    if (controller) controller.abort();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    if (returnFocus && typeof returnFocus.focus === "function" && returnFocus !== boxInput) {
      returnFocus.focus();
    }
    returnFocus = null;
  });

  // A click on the backdrop (the dialog element itself, outside its box) closes it.
  [palette, shortcuts].forEach((dialog) => {
    if (!dialog) return;
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
  });

  function openShortcuts() {
    if (!shortcuts) return;
    close();
    if (!shortcuts.open) shortcuts.showModal();
  }

  // --- asking the server --------------------------------------------------------------------

  function refresh(delay) {
    clearTimeout(timer);
    timer = setTimeout(ask, delay);
  }

  function ask() {
    const query = input.value.trim();
    if (controller) controller.abort();
    controller = new AbortController();
    if (query.length >= minLength) status.textContent = text("searching");
    fetch(endpoint + "?" + new URLSearchParams({ q: query }), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal: controller.signal,
    })
      .then((response) => {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then((answer) => {
        if (input.value.trim() !== query) return; // typed on meanwhile: its answer follows
        asked = query;
        render(answer, query);
        if (enterPending) {
          enterPending = false;
          choose();
        }
      })
      .catch((error) => {
        if (error.name === "AbortError") return;
        asked = query;
        render({ commands: [], groups: [] }, query);
        status.textContent = text("failed");
        if (enterPending) {
          enterPending = false;
          if (query) searchPage(query);
        }
      });
  }

  // --- drawing ------------------------------------------------------------------------------

  function element(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content) node.textContent = content;
    return node;
  }

  function addGroup(id, label, items) {
    const group = element("div", "palette-group");
    group.setAttribute("role", "group");
    group.setAttribute("aria-labelledby", id);
    const heading = element("div", "palette-group-label", label);
    heading.id = id;
    heading.setAttribute("role", "presentation");
    group.appendChild(heading);
    items.forEach((item) => group.appendChild(option(item)));
    list.appendChild(group);
  }

  function option(item) {
    const index = options.length;
    const node = element("div", "palette-option");
    node.id = "palette-option-" + index;
    node.setAttribute("role", "option");
    node.setAttribute("aria-selected", "false");
    node.dataset.index = String(index);
    if (item.kind) node.dataset.kind = item.kind;
    const icon = element("i", "bi " + (item.icon || KIND_ICONS[item.kind] || "bi-arrow-right"));
    icon.setAttribute("aria-hidden", "true");
    node.appendChild(icon);
    const body = element("span", "palette-option-body");
    body.appendChild(element("span", "palette-option-title", item.title || item.label));
    if (item.subtitle) body.appendChild(element("span", "palette-option-subtitle", item.subtitle));
    node.appendChild(body);
    if (item.badge) node.appendChild(element("span", "palette-option-badge", item.badge));
    if (item.shortcut) {
      const keys = element("span", "palette-option-keys");
      keys.setAttribute("aria-hidden", "true");
      item.shortcut.split(" ").forEach((key) => keys.appendChild(element("kbd", "", key)));
      node.appendChild(keys);
    }
    options.push({ element: node, item: item });
    return node;
  }

  function render(answer, query) {
    list.replaceChildren();
    options = [];
    active = -1;
    const found = (answer.groups || []).filter((group) => group.results.length);
    found.forEach((group) => addGroup("palette-group-" + group.kind, group.label, group.results));
    if (answer.commands && answer.commands.length) {
      addGroup("palette-group-commands", text("commands"), answer.commands);
    }
    if (query.length >= minLength) {
      addGroup("palette-group-all", "", [
        { title: text("all", { query: query }), url: answer.search_url, icon: "bi-search" },
      ]);
    }
    const records = found.reduce((sum, group) => sum + group.results.length, 0);
    const commands = answer.commands ? answer.commands.length : 0;
    if (query.length && query.length < minLength && !commands) {
      status.textContent = text("short", { count: minLength });
    } else if (query.length >= minLength && !records && !commands) {
      status.textContent = text("none", { query: query });
    } else if (answer.similar) {
      status.textContent = text("similar", { query: query });
    } else {
      status.textContent = query.length ? text("count", { count: options.length }) : "";
    }
    input.setAttribute("aria-expanded", options.length ? "true" : "false");
    highlight(options.length ? 0 : -1);
  }

  function highlight(index) {
    if (active >= 0 && options[active]) options[active].element.setAttribute("aria-selected", "false");
    active = index;
    if (index < 0 || !options[index]) {
      input.removeAttribute("aria-activedescendant");
      return;
    }
    const node = options[index].element;
    node.setAttribute("aria-selected", "true");
    input.setAttribute("aria-activedescendant", node.id);
    node.scrollIntoView({ block: "nearest" });
  }

  // --- acting -------------------------------------------------------------------------------

  function run(item) {
    if (item.action === "shortcuts") {
      openShortcuts();
    } else if (item.action && item.action.indexOf("theme:") === 0) {
      // static/js/theme.js applies and saves it.
      const theme = item.action.slice("theme:".length);
      document.dispatchEvent(new CustomEvent("threshold:theme", { detail: { theme: theme } }));
      close();
    } else if (item.url) {
      close();
      window.location.assign(item.url);
    }
  }

  // Enter: the highlighted option, else the search page for the text.
  function choose() {
    const query = input.value.trim();
    if (active >= 0 && options[active]) run(options[active].item);
    else if (query) searchPage(query);
  }

  function searchPage(query) {
    close();
    window.location.assign(searchUrl + "?" + new URLSearchParams({ q: query }));
  }

  input.addEventListener("input", () => refresh(DEBOUNCE_MS));

  input.addEventListener("keydown", (event) => {
    if (event.isComposing) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!options.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + options.length) % options.length);
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (input.value.trim() === asked) {
        choose();
      } else {
        // Typed faster than the answer came: act on the answer to the text as it is now.
        enterPending = true;
        refresh(0);
      }
    }
  });

  list.addEventListener("click", (event) => {
    const node = event.target.closest("[role=option]");
    if (node) run(options[Number(node.dataset.index)].item);
  });

  list.addEventListener("mousemove", (event) => {
    const node = event.target.closest("[role=option]");
    if (node && Number(node.dataset.index) !== active) highlight(Number(node.dataset.index));
  });

  // --- the top bar's box: typing in it, or clicking it, continues in the palette -------------

  if (boxInput) {
    boxInput.addEventListener("mousedown", (event) => {
      event.preventDefault();
      open(boxInput.value);
    });
    boxInput.addEventListener("keydown", (event) => {
      if (event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
      const printable = event.key.length === 1;
      if (printable || event.key === "Enter" || event.key === "ArrowDown") {
        event.preventDefault();
        open(boxInput.value + (printable ? event.key : ""));
      }
    });
  }

  // --- shortcuts anywhere -------------------------------------------------------------------

  function isTyping(target) {
    if (!target || !target.closest) return false;
    return Boolean(target.closest("input, textarea, select, [contenteditable]:not([contenteditable=false])"));
  }

  function go(key) {
    const target = shortcuts && shortcuts.querySelector('[data-go="' + key + '"]');
    if (!target) return false;
    window.location.assign(target.dataset.url);
    return true;
  }

  document.addEventListener("keydown", (event) => {
    if (event.isComposing || event.defaultPrevented) return;
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "k") {
      event.preventDefault();
      if (palette.open) close();
      else open("");
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target) || anyDialogOpen()) return;
    const key = event.key;
    if (chordStarted && Date.now() - chordStarted < CHORD_MS) {
      chordStarted = 0;
      if (key !== "g" && go(key)) event.preventDefault();
      return;
    }
    chordStarted = 0;
    if (key === "?") {
      event.preventDefault();
      openShortcuts();
    } else if (key === "/") {
      event.preventDefault();
      open("");
    } else if (key === "g") {
      chordStarted = Date.now();
    } else if (key === "n" && go("n")) {
      event.preventDefault();
    }
  });
})();
