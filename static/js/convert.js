/* The conversion wizard: contact-role rows, the close-date window, stage probabilities. */
document.addEventListener("alpine:init", () => {
  window.Alpine.data("conversionWizard", (config) => ({
    attach: config.attach || "",
    closeDate: config.closeDate || "",
    windowMin: config.windowMin,
    windowMax: config.windowMax,
    nextIndex: config.total,

    get outsideWindow() {
      // ISO dates compare as strings.
      return Boolean(this.closeDate) && (this.closeDate < this.windowMin || this.closeDate > this.windowMax);
    },

    stageChanged(event) {
      const option = event.target.selectedOptions && event.target.selectedOptions[0];
      const probability = document.getElementById("id_probability");
      if (option && option.dataset.probability !== undefined && probability) {
        probability.value = option.dataset.probability;
      }
    },

    addRow() {
      const html = this.$refs.rowTemplate.innerHTML.replace(/__prefix__/g, String(this.nextIndex));
      this.$refs.rows.insertAdjacentHTML("beforeend", html);
      this.nextIndex += 1;
      document.getElementById("id_roles-TOTAL_FORMS").value = String(this.nextIndex);
      const added = this.$refs.rows.lastElementChild;
      const first = added && added.querySelector("select");
      if (first) first.focus();
    },
  }));
});
