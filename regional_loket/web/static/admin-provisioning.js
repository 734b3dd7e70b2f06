// Region administration: a municipality being created. The page polls its progress (JSON) and
// moves the bar; when the job is done or failed it reloads, so the server renders the outcome
// (links, the cause, the retry button). Without JavaScript the page's "Vernieuwen" link does it.
(function () {
  "use strict";
  var box = document.querySelector("[data-provisioning]");
  if (!box || box.getAttribute("data-status") === "done" || box.getAttribute("data-status") === "failed") {
    return;
  }
  var bar = document.getElementById("provisioning-bar");
  var label = document.getElementById("provisioning-label");
  var template = label.textContent;
  function poll() {
    fetch(box.getAttribute("data-provisioning"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { window.setTimeout(poll, 2000); return; }
        bar.max = state.steps;
        bar.value = state.step;
        label.textContent = state.text;
        if (state.status === "done" || state.status === "failed") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 700);
        }
      })
      .catch(function () { label.textContent = template; window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 300);
}());
