// Progressive enhancement only: every page works without JavaScript.
(function () {
  "use strict";
  // Ask before destructive actions: forms marked data-confirm="…" need a yes first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
