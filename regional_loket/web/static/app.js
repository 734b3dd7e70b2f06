// Progressive enhancement only: every page works without JavaScript.
(function () {
  "use strict";
  // Ask before destructive actions: forms (or the button that submits one) marked
  // data-confirm="…" need a yes first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.getAttribute && button.getAttribute("data-confirm")) ||
      (form.getAttribute && form.getAttribute("data-confirm"));
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Focus after a form: a new page would leave it at the top, so a screen-reader or keyboard user
  // has to find out what happened. On an error summary, go there; after a POST (a wizard step, a
  // reorder), go to the page's main heading. The flag lives for one page load only.
  var SUBMITTED = "rl-submitted";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || (form.method || "").toLowerCase() !== "post") { return; }
    try { window.sessionStorage.setItem(SUBMITTED, String(Date.now())); } catch (e) { /* storage off */ }
  });
  function submittedJustNow() {
    var at = null;
    try {
      at = window.sessionStorage.getItem(SUBMITTED);
      window.sessionStorage.removeItem(SUBMITTED);
    } catch (e) { return false; }
    // A stale flag (a POST that answered with a download) must not move focus on a later page.
    return at !== null && Date.now() - Number(at) < 60000;
  }
  function focusOnLoad() {
    var submitted = submittedJustNow();
    var target = document.querySelector("[data-focus-on-load], #error-summary");
    if (!target && submitted) { target = document.querySelector("main h1"); }
    if (!target || (document.activeElement && document.activeElement !== document.body)) { return; }
    if (!target.hasAttribute("tabindex")) { target.setAttribute("tabindex", "-1"); }
    target.focus();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusOnLoad);
  } else {
    focusOnLoad();
  }

  // The location picker's filter box (macros/location_picker.html): hides the locations whose
  // name and town do not hold the typed text; checked ones stay visible, so a choice never hides.
  function setUpLocationFilters() {
    var boxes = document.querySelectorAll("[data-location-filter]");
    Array.prototype.forEach.call(boxes, function (box) {
      var picker = box.parentNode;
      var input = box.querySelector("input");
      box.hidden = false;
      input.addEventListener("input", function () {
        var text = input.value.trim().toLowerCase();
        Array.prototype.forEach.call(picker.querySelectorAll("[data-location-group]"), function (group) {
          var shown = 0;
          Array.prototype.forEach.call(group.querySelectorAll("[data-location-option]"), function (option) {
            var keep = !text || option.getAttribute("data-location-option").indexOf(text) !== -1 ||
              option.querySelector("input").checked;
            option.hidden = !keep;
            if (keep) { shown += 1; }
          });
          group.hidden = shown === 0;
        });
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpLocationFilters);
  } else {
    setUpLocationFilters();
  }
})();
