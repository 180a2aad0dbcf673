// The restarting page: ask /healthz every 2 s and go to sign-in once the device has a new boot id.
(function () {
  "use strict";

  var watch = document.querySelector("[data-restart-watch]");
  if (!watch) {
    return;
  }
  var healthz = watch.getAttribute("data-healthz");
  var oldBootId = watch.getAttribute("data-boot-id");
  var signIn = watch.getAttribute("data-sign-in");
  var status = watch.querySelector("[data-restart-status]");
  var wentDown = false;

  function say(text) {
    if (status && status.textContent !== text) {
      status.textContent = text;
    }
  }

  function check() {
    fetch(healthz, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (body) {
        if (body.boot_id && body.boot_id !== oldBootId) {
          say("The device is back. Taking you to sign-in…");
          window.location.assign(signIn);
          return;
        }
        say(wentDown ? "The device answers again; waiting for it to finish starting…"
                     : "Waiting for the device to go down…");
        window.setTimeout(check, 2000);
      })
      .catch(function () {
        wentDown = true;
        say("The device is restarting and does not answer yet…");
        window.setTimeout(check, 2000);
      });
  }

  window.setTimeout(check, 2000);
})();
