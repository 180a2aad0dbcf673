// Copy buttons next to a one-time password or token. Without the clipboard (plain HTTP, or a
// browser that refuses), the secret is selected instead so Ctrl+C or the phone's menu copies it.
(function () {
  "use strict";

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function say(scope, text) {
    var status = scope.querySelector("[data-copy-status]");
    if (status) {
      status.textContent = text;
    }
  }

  function selectInstead(scope, secret) {
    selectText(secret);
    say(scope, "Selected: press Ctrl+C to copy it.");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    var scope = button.closest("[data-copy-scope]");
    var secret = scope && scope.querySelector(".secret");
    if (!secret) {
      return;
    }
    if (!navigator.clipboard || !window.isSecureContext) {
      selectInstead(scope, secret);
      return;
    }
    navigator.clipboard.writeText(secret.textContent.trim()).then(function () {
      say(scope, "Copied.");
    }, function () {
      selectInstead(scope, secret);
    });
  });
})();
