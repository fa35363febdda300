// Refreshes the landing page's figures in place from the public count
// endpoints (no token), every data-refresh-seconds seconds while the page is
// visible. Without this script the figures are those of the page's answer.
(function () {
  "use strict";
  var main = document.querySelector("[data-refresh-seconds]");
  var seconds = main ? Number(main.getAttribute("data-refresh-seconds")) : 0;
  if (!window.fetch || !(seconds > 0)) {
    return;
  }
  var sections = Array.prototype.slice.call(document.querySelectorAll("[data-source]"));
  var asOf = document.querySelector("[data-as-of]");
  var problem = document.querySelector("[data-refresh-problem]");
  var timer = null;
  var lastRefresh = Date.now();

  // "1234567" -> "1,234,567", on the string: counts may pass 2^53 one day.
  function withThousands(digits) {
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function show(section, data) {
    section.querySelectorAll("[data-field]").forEach(function (node) {
      var value = data[node.getAttribute("data-field")];
      if (typeof value === "string" && /^\d+$/.test(value)) {
        node.textContent = withThousands(value);
      }
    });
  }

  function load(section) {
    return fetch(section.getAttribute("data-source"), {
      headers: { Accept: "application/json" },
      cache: "no-store",
      credentials: "omit"
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    }).then(function (body) {
      show(section, body.data || {});
    });
  }

  function refresh() {
    timer = null;
    lastRefresh = Date.now();
    Promise.all(sections.map(load)).then(function () {
      var now = new Date();
      asOf.setAttribute("datetime", now.toISOString().replace(/\.\d+Z$/, "Z"));
      asOf.textContent = now.toISOString().slice(11, 19) + " UTC";
      problem.textContent = "";
    }).catch(function () {
      problem.textContent = "The figures could not be refreshed just now; the page tries again shortly.";
    }).then(schedule);
  }

  function schedule() {
    if (timer === null && !document.hidden) {
      var wait = Math.max(0, lastRefresh + seconds * 1000 - Date.now());
      timer = window.setTimeout(refresh, wait);
    }
  }

  // A hidden tab does not poll; shown again, it catches up at once if due.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden && timer !== null) {
      window.clearTimeout(timer);
      timer = null;
    }
    schedule();
  });
  schedule();
})();
