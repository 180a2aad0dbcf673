// The sign-in refusal: count the wait down each second from the server's Retry-After figure
// (relative, so a laptop whose clock differs from the device's still shows the right wait).
(function () {
  "use strict";

  var counter = document.querySelector("[data-countdown]");
  if (!counter) {
    return;
  }
  var end = Date.now() + Number(counter.getAttribute("data-countdown")) * 1000;

  function wait(seconds) {
    var minutes = Math.floor(seconds / 60);
    var secs = seconds % 60;
    return minutes ? minutes + " min " + secs + " s" : secs + " s";
  }

  function tick() {
    var left = Math.ceil((end - Date.now()) / 1000);
    if (left <= 0) {
      counter.textContent = "you can try again now";
      return;
    }
    counter.textContent = "in " + wait(left);
    window.setTimeout(tick, 1000);
  }

  tick();
})();
