// Refreshes the landing page's figures in place from the public count
// endpoints (no token), every data-refresh-seconds seconds while the page is
// visible. Without this script the figures are those of the page's answer.
// Each poll sends the ETag of the answer it last showed (If-None-Match): an
// unchanged count answers 304, with no body to transfer or draw. The chart
// is fetched again as the server draws it (data-chart-source) and put in
// place of the one shown.
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
  var shownTags = {};  // data-source -> the ETag of the answer shown
  var chartSource = main.getAttribute("data-chart-source");

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
    var source = section.getAttribute("data-source");
    var headers = { Accept: "application/json" };
    if (shownTags[source]) {
      headers["If-None-Match"] = shownTags[source];
    }
    // "no-store": the browser's cache stays out of it, so a 304 reaches us as one.
    return fetch(source, {
      headers: headers,
      cache: "no-store",
      credentials: "omit"
    }).then(function (response) {
      if (response.status === 304) {
        return;  // what is shown is still true
      }
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      var tag = response.headers.get("ETag");
      return response.json().then(function (body) {
        show(section, body.data || {});
        if (tag) {
          shownTags[source] = tag;
        }
      });
    });
  }

  // The same conditional GET, for the chart's fragment of HTML.
  function loadChart() {
    var headers = { Accept: "text/html" };
    if (shownTags[chartSource]) {
      headers["If-None-Match"] = shownTags[chartSource];
    }
    return fetch(chartSource, { headers: headers, cache: "no-store", credentials: "omit" }).then(function (response) {
      if (response.status === 304) {
        return;
      }
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      var tag = response.headers.get("ETag");
      return response.text().then(function (html) {
        var drawn = new DOMParser().parseFromString(html, "text/html").querySelector("[data-chart]");
        var shown = document.querySelector("[data-chart]");
        if (drawn && shown) {
          // Keep the figures' table open if the reader opened it.
          var open = shown.querySelector("details[open]");
          var replacement = document.importNode(drawn, true);
          if (open) {
            replacement.querySelector("details").setAttribute("open", "");
          }
          shown.replaceWith(replacement);
        }
        if (tag) {
          shownTags[chartSource] = tag;
        }
      });
    });
  }

  function refresh() {
    timer = null;
    lastRefresh = Date.now();
    var loads = sections.map(load);
    if (chartSource) {
      loads.push(loadChart());
    }
    Promise.all(loads).then(function () {
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
