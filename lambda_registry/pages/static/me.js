// A person's own page (/me): their Lambda instances and applications, kept
// up to date from the changes feeds (SPEC.md "Changes", "People's page").
//
// The token: kept in sessionStorage (this tab only), sent only as the
// Authorization header of requests to this registry's own API (the URLs
// the server put in data-* attributes), never in a URL, a cookie or
// localStorage; "Sign out" forgets it.
//
// Following: one request at a time, the two kinds in turn, each asking to
// wait (WAIT_SECONDS) for a change of its kind when there is none, so that
// a change of either kind shows within about two waits. The server lets a
// few requests wait at once; past that it answers at once, and then this
// page pauses before asking again rather than asking in a loop.
(function () {
  "use strict";
  var main = document.querySelector("main[data-authenticate]");
  if (!main || !window.fetch || !window.sessionStorage) {
    return;
  }
  var TOKEN_KEY = "lambda_registry.token";
  var WAIT_SECONDS = 1;
  var PAUSE_MS = 1000;  // after an answer that did not wait, or an error
  var NOT_ACCEPTED = "This token was not accepted.";
  var KINDS = ["instances", "applications"];

  var form = main.querySelector("[data-sign-in]");
  var input = form.querySelector("input");
  var message = main.querySelector("[data-message]");
  var signedIn = main.querySelector("[data-signed-in]");
  var live = main.querySelector("[data-live]");
  var session = null;  // {token, state: {kind: {records, cursor}}, stopped, controller}

  function say(text) {
    message.textContent = text || "";
  }

  function request(url, token, signal) {
    return fetch(url, {
      headers: { Authorization: "Token " + token, Accept: "application/json" },
      credentials: "omit",
      cache: "no-store",
      signal: signal
    });
  }

  // What an error answer means to a person.
  function trouble(response) {
    if (response.status === 401) {
      return NOT_ACCEPTED;
    }
    if (response.status === 503) {
      return response.json().then(function (body) {
        var what = (body && body.status && body.status.short_description) || "";
        if (/identity service/.test(what)) {
          return "The ~okeanos identity service is unavailable just now, so your token cannot be checked. Try again in a moment.";
        }
        return "The registry is unavailable just now. Try again in a moment.";
      }, function () {
        return "The registry is unavailable just now. Try again in a moment.";
      });
    }
    return "The registry answered " + response.status + ". Try again in a moment.";
  }

  // -- drawing -----------------------------------------------------------------
  function when(iso) {
    var node = document.createElement("time");
    node.setAttribute("datetime", iso);
    node.title = iso.replace("T", " ").replace(/\.\d+Z$/, " UTC");
    node.textContent = new Date(iso).toLocaleString();
    return node;
  }

  function isFailed(kind, record) {
    var code = Number(record.status);
    return kind === "instances" ? code === 9 || (code >= 11 && code % 2 === 1) : code === 2;
  }

  function statusBadge(kind, record) {
    var badge = document.createElement("span");
    badge.className = "status" + (isFailed(kind, record) ? " status-failed" : "");
    // Failed ones say so in words too, not only in colour.
    badge.textContent = (isFailed(kind, record) ? "✗ failed: " : "") + record.status_name + " (" + record.status + ")";
    return badge;
  }

  function field(list, label, value) {
    var term = document.createElement("dt");
    term.textContent = label;
    var detail = document.createElement("dd");
    detail.appendChild(value);
    list.appendChild(term);
    list.appendChild(detail);
  }

  function recordItem(kind, record) {
    var item = document.createElement("li");
    item.className = "record";
    item.setAttribute("data-uuid", record.uuid);
    var head = document.createElement("div");
    head.className = "record-head";
    var name = document.createElement("h3");
    name.textContent = record.name;
    head.appendChild(name);
    head.appendChild(statusBadge(kind, record));
    item.appendChild(head);
    var facts = document.createElement("dl");
    field(facts, "Created", when(record.created_at));
    field(facts, "Last changed", when(record.updated_at));
    if (record.failure_message) {
      field(facts, "Message", document.createTextNode(record.failure_message));
    }
    if (kind === "applications") {
      field(facts, "Times started", document.createTextNode(String(record.times_started)));
    }
    item.appendChild(facts);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "history-button";
    button.textContent = "History";
    button.setAttribute("aria-expanded", "false");
    var timeline = document.createElement("ol");
    timeline.className = "timeline";
    timeline.id = "history-" + kind + "-" + record.uuid;
    timeline.hidden = true;
    button.setAttribute("aria-controls", timeline.id);
    button.addEventListener("click", function () { toggleHistory(kind, record.uuid, button, timeline); });
    item.appendChild(button);
    item.appendChild(timeline);
    return item;
  }

  function toggleHistory(kind, uuid, button, timeline) {
    if (button.getAttribute("aria-expanded") === "true") {
      button.setAttribute("aria-expanded", "false");
      timeline.hidden = true;
      return;
    }
    button.setAttribute("aria-expanded", "true");
    timeline.hidden = false;
    timeline.textContent = "Loading…";
    request(main.getAttribute("data-" + kind) + "/" + uuid, session.token).then(function (response) {
      if (!response.ok) {
        return Promise.resolve(trouble(response)).then(function (text) { timeline.textContent = text; });
      }
      return response.json().then(function (body) {
        timeline.textContent = "";
        body.data[0].history.forEach(function (entry) {
          var step = document.createElement("li");
          step.appendChild(when(entry.at));
          step.appendChild(document.createTextNode(" "));
          step.appendChild(statusBadge(kind, entry));
          if (entry.failure_message) {
            var note = document.createElement("span");
            note.className = "step-message";
            note.textContent = entry.failure_message;
            step.appendChild(note);
          }
          timeline.appendChild(step);
        });
      });
    }).catch(function () {
      timeline.textContent = "The history could not be read just now.";
    });
  }

  function draw(kind) {
    var section = main.querySelector('[data-kind="' + kind + '"]');
    var list = section.querySelector("[data-records]");
    var records = session.state[kind].records;
    var uuids = Object.keys(records);
    // Newest first; a record whose history is open keeps it open.
    uuids.sort(function (a, b) {
      return records[b].created_at < records[a].created_at ? -1 : records[b].created_at > records[a].created_at ? 1 : 0;
    });
    var open = {};
    list.querySelectorAll('.history-button[aria-expanded="true"]').forEach(function (button) {
      open[button.closest(".record").getAttribute("data-uuid")] = true;
    });
    list.textContent = "";
    uuids.forEach(function (uuid) {
      var item = recordItem(kind, records[uuid]);
      list.appendChild(item);
      if (open[uuid]) {
        var button = item.querySelector(".history-button");
        toggleHistory(kind, uuid, button, item.querySelector(".timeline"));
      }
    });
    section.querySelector("[data-empty]").hidden = uuids.length > 0;
    section.querySelector("[data-tally]").textContent = uuids.length ? "(" + uuids.length + ")" : "";
  }

  // -- following -----------------------------------------------------------------
  function follow(mine, kindIndex) {
    if (mine.stopped) {
      return;
    }
    var kind = KINDS[kindIndex];
    var state = mine.state[kind];
    var url = main.getAttribute("data-" + kind) + "/changes?wait=" + WAIT_SECONDS;
    if (state.cursor) {
      url += "&since=" + encodeURIComponent(state.cursor);
    }
    var started = Date.now();
    request(url, mine.token, mine.controller.signal).then(function (response) {
      if (response.status === 410) {  // deletions forgotten: read everything again
        state.cursor = null;
        state.records = {};
        return { again: true };
      }
      if (!response.ok) {
        return Promise.resolve(trouble(response)).then(function (text) {
          if (response.status === 401) {
            signOut(text);
            return { stop: true };
          }
          live.textContent = text;
          return { pause: true };
        });
      }
      return response.json().then(function (body) {
        body.data.forEach(function (entry) {
          if (entry.deleted) {
            delete state.records[entry.uuid];
          } else {
            state.records[entry.uuid] = entry;
          }
        });
        state.cursor = body.changes.cursor;
        if (body.data.length) {
          draw(kind);
        }
        state.loaded = state.loaded || !body.changes.more;
        live.textContent = KINDS.every(function (k) { return mine.state[k].loaded; })
          ? "Up to date: changes show here as they happen." : "Reading your records…";
        // More ready now: the same kind again at once. Nothing, and no wait
        // (the server's waiters were all taken): pause before the next.
        return { again: body.changes.more, pause: !body.data.length && Date.now() - started < WAIT_SECONDS * 500 };
      });
    }).then(function (next) {
      if (next.stop || mine.stopped) {
        return;
      }
      var nextKind = next.again ? kindIndex : (kindIndex + 1) % KINDS.length;
      window.setTimeout(function () { follow(mine, nextKind); }, next.pause ? PAUSE_MS : 0);
    }, function () {
      if (!mine.stopped) {
        live.textContent = "The registry cannot be reached just now; trying again.";
        window.setTimeout(function () { follow(mine, kindIndex); }, PAUSE_MS * 3);
      }
    });
  }

  // -- signing in and out -----------------------------------------------------------
  function start(token, user) {
    session = { token: token, stopped: false, controller: new AbortController(), state: {} };
    KINDS.forEach(function (kind) {
      session.state[kind] = { records: {}, cursor: null, loaded: false };
      draw(kind);
    });
    main.querySelector("[data-user]").textContent = user;
    form.hidden = true;
    signedIn.hidden = false;
    say("");
    live.textContent = "Reading your records…";
    follow(session, 0);
  }

  function signIn(token) {
    say("Checking your token…");
    return request(main.getAttribute("data-authenticate"), token).then(function (response) {
      if (!response.ok) {
        sessionStorage.removeItem(TOKEN_KEY);
        return Promise.resolve(trouble(response)).then(function (text) {
          showForm(text);
        });
      }
      return response.json().then(function (body) {
        sessionStorage.setItem(TOKEN_KEY, token);
        start(token, body.data[0].id);
      });
    }).catch(function () {
      showForm("The registry cannot be reached just now. Try again in a moment.");
    });
  }

  function showForm(text) {
    form.hidden = false;
    signedIn.hidden = true;
    say(text);
    input.value = "";
    input.focus();
  }

  function signOut(text) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (session) {
      session.stopped = true;
      session.controller.abort();
      session = null;
    }
    KINDS.forEach(function (kind) {
      main.querySelector('[data-kind="' + kind + '"] [data-records]').textContent = "";
    });
    showForm(text || "You are signed out.");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();  // never a form submission: the token would be in a request body or URL
    var token = input.value.trim();
    input.value = "";
    if (token) {
      signIn(token);
    }
  });
  main.querySelector("[data-sign-out]").addEventListener("click", function () { signOut(); });

  var kept = sessionStorage.getItem(TOKEN_KEY);
  if (kept) {
    signIn(kept);
  } else {
    showForm("");
  }
})();
