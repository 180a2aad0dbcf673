// Count each [data-countdown] element down every second from the server's figure of seconds
// left (relative, so a laptop whose clock differs from the device's still shows the right
// wait); at zero it says its data-countdown-done text.
(function () {
  "use strict";

  function wait(seconds) {
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var secs = seconds % 60;
    if (hours) {
      return hours + " h " + minutes + " min";
    }
    return minutes ? minutes + " min " + secs + " s" : secs + " s";
  }

  function start(counter) {
    var end = Date.now() + Number(counter.getAttribute("data-countdown")) * 1000;
    var done = counter.getAttribute("data-countdown-done") || "now";

    function tick() {
      var left = Math.ceil((end - Date.now()) / 1000);
      if (left <= 0) {
        counter.textContent = done;
        return;
      }
      counter.textContent = "in " + wait(left);
      window.setTimeout(tick, 1000);
    }

    tick();
  }

  document.querySelectorAll("[data-countdown]").forEach(start);
})();
