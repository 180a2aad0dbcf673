// The label of a "Select all" button says what it will do: "Clear all" once every box of its
// list is ticked. app.js does the ticking; this only keeps the words true.
(function () {
  "use strict";

  function boxes(button) {
    var scope = document.querySelector(button.getAttribute("data-select-all"));
    return scope ? Array.prototype.slice.call(scope.querySelectorAll("input[type=checkbox]")) : [];
  }

  function relabel(button) {
    var all = boxes(button);
    var full = all.length > 0 && all.every(function (box) { return box.checked; });
    button.textContent = full ? "Clear all" : "Select all";
  }

  function relabelAll() {
    document.querySelectorAll("[data-select-all]").forEach(relabel);
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-select-all]")) {
      // After app.js has ticked or cleared the boxes in its own click handler.
      window.setTimeout(relabelAll, 0);
    }
  });
  document.addEventListener("change", relabelAll);
  relabelAll();
})();
