/* The pipeline board: drag a deal to another column; the server decides.
 *
 * On drop the card's move URL gets a POST (stage, version, the board's filters). 200 brings
 * the new column totals; 400/403/409 bring {"errors": [...]}: the card goes back and the
 * problems are shown. Closing lost without a reason opens a small form, then posts again.
 * Deals waiting for a manager's approval sit outside the column lists without
 * `data-draggable`: they do not drag, and a move the server refuses (409) comes back.
 */
(function () {
  "use strict";

  const board = document.querySelector("[data-board]");
  if (!board || typeof Sortable === "undefined") return;

  const csrf = board.querySelector("input[name=csrfmiddlewaretoken]").value;
  const alertBox = document.getElementById("board-alert");
  const texts = JSON.parse(document.getElementById("board-messages").textContent || "{}");
  const lostModalElement = document.getElementById("lost-modal");
  const lostModal = lostModalElement && window.bootstrap ? new window.bootstrap.Modal(lostModalElement) : null;
  const lostForm = document.getElementById("lost-form");
  const LOST_FIELDS = ["lost_reason", "lost_to_competitor"];
  let pendingLost = null; // the drop waiting for a lost reason

  function format(text, values) {
    return String(text || "").replace(/%\((\w+)\)s/g, (match, key) => (key in values ? values[key] : match));
  }

  function escapeHtml(text) {
    const element = document.createElement("span");
    element.textContent = String(text);
    return element.innerHTML;
  }

  function showAlert(kind, html) {
    alertBox.innerHTML =
      '<div class="alert alert-' + kind + ' alert-dismissible fade show" role="alert">' + html +
      '<button type="button" class="btn-close" data-bs-dismiss="alert" aria-label="' +
      escapeHtml(texts.close || "Close") + '"></button></div>';
  }

  function showProblems(card, errors) {
    const items = (errors || []).map((error) => "<li>" + escapeHtml(error.message) + "</li>").join("");
    showAlert(
      "danger",
      "<strong>" + escapeHtml(format(texts.failed, { name: card.dataset.name })) + "</strong>" +
        (items ? '<ul class="mb-0">' + items + "</ul>" : "") +
        ' <a href="' + card.dataset.detailUrl + '">' + escapeHtml(texts.open) + "</a>",
    );
  }

  function putBack(card, from, oldIndex) {
    const anchor = from.children[oldIndex] || null;
    from.insertBefore(card, anchor === card ? card.nextSibling : anchor);
    refreshEmpty();
  }

  function refreshEmpty() {
    board.querySelectorAll(".board-col").forEach((column) => {
      const empty = column.querySelector("[data-empty]");
      const list = column.querySelector("[data-column-list]");
      if (empty) empty.hidden = list !== null && list.querySelector(".deal-card") !== null;
    });
  }

  function applyColumns(columns) {
    board.querySelectorAll(".board-col").forEach((column) => {
      const totals = columns[column.dataset.stage] || { count: 0, totals: "" };
      column.querySelector("[data-count]").textContent = totals.count;
      column.querySelector("[data-totals]").textContent = totals.totals || "—";
    });
  }

  function send(card, stageId, extra) {
    const body = new URLSearchParams(board.dataset.filters || "");
    body.set("stage", stageId);
    body.set("version", card.dataset.version);
    Object.entries(extra || {}).forEach(([key, value]) => body.set(key, value));
    card.classList.add("is-saving");
    return fetch(card.dataset.moveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    })
      .then((response) =>
        response
          .json()
          .catch(() => ({ errors: [{ message: texts.network }] }))
          .then((data) => ({ ok: response.ok, status: response.status, data: data })),
      )
      .catch(() => ({ ok: false, status: 0, data: { errors: [{ message: texts.network }] } }))
      .finally(() => card.classList.remove("is-saving"));
  }

  function moved(card, data) {
    card.dataset.version = data.opportunity.version;
    applyColumns(data.columns);
    refreshEmpty();
    showAlert("success", escapeHtml(format(texts.moved, { name: card.dataset.name, stage: data.opportunity.stage_name })));
  }

  function onlyLostProblems(errors) {
    return errors.length > 0 && errors.every((error) => LOST_FIELDS.includes(error.field));
  }

  function onDrop(event) {
    if (event.from === event.to) return;
    const card = event.item;
    const from = event.from;
    const oldIndex = event.oldIndex;
    const stageId = event.to.dataset.stage;
    refreshEmpty();
    send(card, stageId).then((result) => {
      if (result.ok) {
        moved(card, result.data);
        return;
      }
      const errors = result.data.errors || [];
      if (result.status === 400 && lostModal && onlyLostProblems(errors)) {
        pendingLost = { card, from, oldIndex, stageId, done: false };
        lostForm.reset();
        lostModalElement.querySelector("[data-lost-errors]").textContent = "";
        lostModalElement.querySelector("[data-lost-deal]").textContent = card.dataset.name;
        lostModal.show();
        return;
      }
      putBack(card, from, oldIndex);
      showProblems(card, errors);
    });
  }

  if (lostForm) {
    lostForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!pendingLost) return;
      const drop = pendingLost;
      const values = Object.fromEntries(new FormData(lostForm).entries());
      send(drop.card, drop.stageId, values).then((result) => {
        if (result.ok) {
          drop.done = true;
          lostModal.hide();
          moved(drop.card, result.data);
          return;
        }
        const errors = result.data.errors || [];
        if (result.status === 400 && onlyLostProblems(errors)) {
          lostModalElement.querySelector("[data-lost-errors]").textContent = errors.map((e) => e.message).join(" ");
          return;
        }
        drop.done = true;
        lostModal.hide();
        putBack(drop.card, drop.from, drop.oldIndex);
        showProblems(drop.card, errors);
      });
    });
    lostModalElement.addEventListener("hidden.bs.modal", () => {
      // Cancelled: the deal stays where it was.
      if (pendingLost && !pendingLost.done) putBack(pendingLost.card, pendingLost.from, pendingLost.oldIndex);
      pendingLost = null;
    });
  }

  // A shadow on the edge that has more stages beyond it.
  const wrap = board.parentElement;
  function edges() {
    wrap.classList.toggle("more-left", board.scrollLeft > 2);
    wrap.classList.toggle("more-right", board.scrollLeft + board.clientWidth < board.scrollWidth - 2);
  }
  board.addEventListener("scroll", edges, { passive: true });
  window.addEventListener("resize", edges);
  edges();

  board.querySelectorAll("[data-column-list]").forEach((list) => {
    Sortable.create(list, {
      group: "pipeline",
      draggable: ".deal-card[data-draggable]",
      animation: 150,
      ghostClass: "is-ghost",
      chosenClass: "is-chosen",
      dragClass: "is-dragging",
      emptyInsertThreshold: 40,
      onStart: () => {
        alertBox.innerHTML = "";
      },
      onEnd: onDrop,
    });
  });
})();
