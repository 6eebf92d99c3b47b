/* Ticket-page insight panels (SLA explainer, similar tickets): load on demand, insert suggested replies.
   Enhancements only; each panel has a no-JavaScript link. */
(function () {
  "use strict";
  if (window.helpdeskInsights) return;  // each panel's include loads this file
  window.helpdeskInsights = true;

  /* Times come in the agent's own time zone (their profile's; DeskTimeZoneMiddleware). */
  function loadInto(url, target) {
    fetch(url, { headers: { "HX-Request": "true" } })
      .then(function (response) { return response.text().then(function (text) { return [response.ok, text]; }); })
      .then(function (result) {
        target.innerHTML = result[0] ? result[1] : '<p class="form-error">Could not load this panel.</p>';
      });
  }

  function replyBox() { return document.getElementById("id_body"); }

  function chooseMacro(id) {
    var select = document.getElementById("id_macro");
    if (!select || !id) return;
    select.value = id;
    select.dispatchEvent(new Event("change", { bubbles: true }));  // desk.js inserts the macro's text
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".similar-insert, .similar-macro");
    if (!button) return;
    if (button.classList.contains("similar-macro")) { chooseMacro(button.dataset.macro); return; }
    var body = replyBox();
    if (!body) return;
    var draft = button.dataset.draft;
    body.value = body.value.trim() ? body.value.replace(/\s+$/, "") + "\n\n" + draft : draft;
    var macro = document.getElementById("id_macro");
    if (macro && button.dataset.macro) macro.value = button.dataset.macro;  // counts as that macro's use
    body.focus();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var similar = document.getElementById("similar");
    if (similar) loadInto(similar.dataset.similarUrl, similar.querySelector(".similar-body"));
  });

  document.addEventListener("toggle", function (event) {
    var panel = event.target;
    if (!panel.dataset || !panel.dataset.explainUrl || !panel.open || panel.dataset.loaded) return;
    panel.dataset.loaded = "1";
    loadInto(panel.dataset.explainUrl, panel.querySelector(".sla-explain-body"));
  }, true);
})();
