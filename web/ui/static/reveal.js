// The reveal-once screen: a Copy button for the secret, and the secret
// wiped from the page when the person leaves it (so the back/forward cache
// never brings it back). The page works without this file: the secret is
// in a read-only field to select and copy.
(function () {
  "use strict";

  function status(text) {
    var el = document.querySelector("[data-copy-status]");
    if (el) el.textContent = text;
  }

  function fallbackCopy(input) {
    input.focus();
    input.select();
    try {
      return document.execCommand("copy");
    } catch (e) {
      return false;
    }
  }

  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    var input = document.getElementById(btn.getAttribute("data-copy"));
    if (!input) return;
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var done = function () {
        btn.textContent = "Copied";
        status("Copied to the clipboard.");
      };
      var failed = function () {
        if (fallbackCopy(input)) done();
        else status("Could not copy: select the secret and copy it by hand.");
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, failed);
      } else {
        failed();
      }
    });
  });

  // Selecting the field selects the whole secret.
  document.querySelectorAll("input[data-secret]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });

  window.addEventListener("pagehide", function () {
    document.querySelectorAll("input[data-secret]").forEach(function (input) {
      input.value = "";
      input.removeAttribute("value");
    });
  });
})();
