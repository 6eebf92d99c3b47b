/* Ticket-page insight panels (SLA explainer, similar tickets): load on demand, insert suggested replies.
   Enhancements only; each panel has a no-JavaScript link. */
(function () {
  "use strict";
  if (window.helpdeskInsights) return;  // each panel's include loads this file
  window.helpdeskInsights = true;

  function zone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; }
  }

  function loadInto(url, target) {
    var sep = url.indexOf("?") === -1 ? "?" : "&";
    var tz = zone();
    fetch(url + (tz ? sep + "tz=" + encodeURIComponent(tz) : ""), { headers: { "HX-Request": "true" } })
      .then(function (response) { return response.text().then(function (text) { return [response.ok, text]; }); })
      .then(function (result) {
        target.innerHTML = result[0] ? result[1] : '<p class="form-error">Could not load this panel.</p>';
      });
  }

  document.addEventListener("toggle", function (event) {
    var panel = event.target;
    if (!panel.dataset || !panel.dataset.explainUrl || !panel.open || panel.dataset.loaded) return;
    panel.dataset.loaded = "1";
    loadInto(panel.dataset.explainUrl, panel.querySelector(".sla-explain-body"));
  }, true);
})();
