// Small behaviours the CSP allows only from a file: confirmations, the phone menu (Esc closes
// it), a banner's Details, select-all.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  function setMenu(toggle, open) {
    document.getElementById(toggle.getAttribute("aria-controls")).classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }

  document.addEventListener("keydown", function (event) {
    var toggle = document.querySelector(".nav-toggle[aria-expanded=true]");
    if (event.key === "Escape" && toggle) {
      setMenu(toggle, false);
      toggle.focus();
    }
  });

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".nav-toggle");
    if (toggle) {
      setMenu(toggle, !document.getElementById(toggle.getAttribute("aria-controls"))
        .classList.contains("open"));
      return;
    }
    var details = event.target.closest(".banner-toggle");
    if (details) {
      var open = details.getAttribute("aria-expanded") !== "true";
      document.getElementById(details.getAttribute("aria-controls")).hidden = !open;
      details.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    var selectAll = event.target.closest("[data-select-all]");
    if (selectAll) {
      var scope = document.querySelector(selectAll.getAttribute("data-select-all"));
      var boxes = scope ? scope.querySelectorAll("input[type=checkbox]") : [];
      var allChecked = Array.prototype.every.call(boxes, function (b) { return b.checked; });
      boxes.forEach(function (box) { box.checked = !allChecked; });
    }
  });
})();
