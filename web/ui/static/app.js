// Incident Hub web UI: small enhancements. Every page works without this
// file; it only keeps relative times fresh, asks before destructive
// actions, pauses live refreshes in background tabs, and applies filter
// menus as soon as they change.
(function () {
  "use strict";

  // Same wording as ago() in web/ui.go.
  function ago(then, now) {
    var d = (now - then) / 1000, future = d < 0;
    if (future) d = -d;
    var s;
    if (d < 45) return future ? "in a few seconds" : "just now";
    if (d < 90 * 60) s = Math.max(1, Math.round(d / 60)) + " min";
    else if (d < 36 * 3600) { var h = Math.round(d / 3600); s = h + (h === 1 ? " hour" : " hours"); }
    else if (d < 45 * 86400) { var n = Math.round(d / 86400); s = n + (n === 1 ? " day" : " days"); }
    else return null; // an absolute date: leave the server's text
    return future ? "in " + s : s + " ago";
  }

  function refreshTimes() {
    var now = Date.now();
    document.querySelectorAll("time[data-rel]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("datetime"));
      if (isNaN(t)) return;
      var text = ago(t, now);
      if (text !== null && el.textContent !== text) el.textContent = text;
    });
  }
  setInterval(refreshTimes, 30000);

  // data-confirm on a form, or on the button that submits it.
  document.addEventListener("submit", function (e) {
    var by = e.submitter, form = e.target;
    var msg = (by && by.getAttribute("data-confirm")) || (form.getAttribute && form.getAttribute("data-confirm"));
    if (msg && !window.confirm(msg)) e.preventDefault();
  }, true);

  // Live regions poll only while the page is visible: a tab in the
  // background costs the hub nothing, and catches up on its next tick.
  document.addEventListener("htmx:beforeRequest", function (e) {
    if (document.visibilityState === "hidden" && e.detail.elt && e.detail.elt.hasAttribute("hx-trigger")) {
      e.preventDefault();
    }
  });

  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el.tagName === "SELECT" && el.form && el.form.hasAttribute("data-autosubmit")) {
      el.form.requestSubmit();
    }
  });
})();
