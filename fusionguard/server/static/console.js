// Progressive enhancement only: every page works without this file.
// The verification page polls the background job's progress while it runs.
(function () {
  "use strict";
  var job = document.getElementById("verify-job");
  if (!job || job.getAttribute("data-running") !== "yes") { return; }
  function poll() {
    fetch("/verify/status", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (state) {
        var bar = document.getElementById("verify-progress");
        var label = document.getElementById("verify-percent");
        if (bar) { bar.value = state.percent; }
        if (label) { label.textContent = state.percent + "%"; }
        if (state.running) { setTimeout(poll, 500); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 300);
})();
