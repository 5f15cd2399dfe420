// État des traitements: refresh the progress bars of the runs waiting or running, reload when one ends.
(function () {
  "use strict";
  var bars = Array.prototype.slice.call(document.querySelectorAll("progress[data-traitement]"));
  if (!bars.length) {
    return;
  }
  var url = bars[0].getAttribute("data-statut-url");
  var ids = bars.map(function (bar) { return bar.getAttribute("data-traitement"); });

  function refresh() {
    fetch(url + "?ids=" + ids.join(","), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (states) {
        if (!states) {
          return;
        }
        var finished = false;
        bars.forEach(function (bar) {
          var state = states[bar.getAttribute("data-traitement")];
          if (!state) {
            return;
          }
          bar.value = state.avancement;
          bar.textContent = state.avancement + " %";
          var label = bar.parentNode.querySelector(".traitement-pourcentage");
          if (label) {
            label.textContent = state.avancement;
          }
          if (state.resultat !== "en_attente" && state.resultat !== "en_cours") {
            finished = true;
          }
        });
        if (finished) {
          window.location.reload();
        } else {
          window.setTimeout(refresh, 2000);
        }
      })
      .catch(function () { window.setTimeout(refresh, 5000); });
  }

  window.setTimeout(refresh, 2000);
}());
