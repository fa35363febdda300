"""Prometheus metrics (SPEC.md "Metrics and request ids"), made by
``prometheus_client``, served at ``/__metrics__`` when
``lambda_registry.metrics`` is true.

- **Ours only.** An application's metrics live in a ``CollectorRegistry``
  of its own, never in prometheus_client's global one: a host's metrics
  (and a second registry application in the same process) are left alone.
- **Several processes.** When ``PROMETHEUS_MULTIPROC_DIR`` names a
  directory (set before the server starts: prometheus_client reads it at
  import), every process writes its counters and histograms there and a
  scrape of any process sums them all (prometheus_client's multiprocess
  mode; gunicorn's hook in ``lambda_registry/gunicorn_hooks.py`` removes a
  dead worker's live files). Only ``lambda_registry_*`` metrics of that
  directory are answered.
- **Gauges without a scan.** ``lambda_registry_records`` and
  ``lambda_registry_users`` are read at scrape time from the public counts
  (``counts.py``: totals plus unfolded changes, behind their short cache),
  by whichever process is scraped: the database is the same for all.
- **No label holds a token, a user id or a uuid**: operations are
  operationIds, codes are HTTP codes, outcomes and groups are fixed words.
"""

import os
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

PREFIX = "lambda_registry_"
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
UNKNOWN_OPERATION = "unknown"
IDENTITY_OUTCOMES = ("accepted", "refused", "unavailable", "busy", "malformed")
# How a changes request that asked to wait ended: a change came, the time
# was over, or max_waiting requests were waiting already (answered at once).
WAIT_OUTCOMES = ("change", "time", "full")
# Seconds: a cached details read takes about a millisecond, a write a few,
# an identity call up to its timeout (5 s).
# The counts' "count" field is the group SPEC.md calls "active".
GROUPS = {"count": "active"}
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class CountsCollector:
    """The gauges, from the counts the registry keeps anyway."""

    def __init__(self, figures):
        self.figures = figures  # what counts.Counts.figures() answered for this scrape

    def describe(self):
        return []

    def collect(self):
        figures = self.figures
        if figures is None:  # the database did not answer: no gauges this time
            return
        records = GaugeMetricFamily(PREFIX + "records", "Records of all users, by kind and by the counts' group.",
                                    labels=["kind", "group"])
        for kind in ("instances", "applications"):
            for field, value in figures[kind].items():
                records.add_metric([kind, GROUPS.get(field, field)], value)
        yield records
        yield GaugeMetricFamily(PREFIX + "users", "Users the registry has seen with a valid token.",
                                value=figures["users"]["count"])


class OursOnly:
    """prometheus_client's multiprocess collector, keeping our metrics only
    (a host using the same directory keeps its own)."""

    def __init__(self, path):
        from prometheus_client import multiprocess

        self.collector = multiprocess.MultiProcessCollector(None, path=path)

    def describe(self):
        return []

    def collect(self):
        for family in self.collector.collect():
            if family.name.startswith(PREFIX):
                yield family


class Scrape:
    """What one scrape answers: the families of each source in turn
    (``generate_latest`` only calls ``collect()``)."""

    def __init__(self, *sources):
        self.sources = sources

    def collect(self):
        for source in self.sources:
            yield from source.collect()


class Metrics:
    """One application's metrics: what the request path records, and the scrape."""

    enabled = True

    def __init__(self, environ=os.environ):
        self.multiprocess_dir = environ.get(MULTIPROCESS_VARIABLE) or None
        # Where the request path's metrics are kept; in multiprocess mode
        # their values go to the directory's files, whatever registry holds them.
        own = CollectorRegistry(auto_describe=True)
        self.requests = Counter(PREFIX + "requests", "Requests answered, by operation (operationId) and HTTP code.",
                                ["operation", "code"], registry=own)
        self.duration = Histogram(PREFIX + "request_duration_seconds",
                                  "Time from the first check of a request to its answer, by operation.",
                                  ["operation"], buckets=DURATION_BUCKETS, registry=own)
        self.identity_checks = Counter(PREFIX + "identity_checks",
                                       "Tokens checked (not found in the cache), by outcome.", ["outcome"], registry=own)
        self.identity_cache_hits = Counter(PREFIX + "identity_cache_hits",
                                           "Tokens answered from the identity cache, without a call.", registry=own)
        self.database_unavailable = Counter(PREFIX + "database_unavailable",
                                            "Requests answered 503 because the database could not be reached.",
                                            registry=own)
        self.changes = Counter(PREFIX + "changes", "Entries answered by the changes feeds (records and deletions), "
                               "by kind.", ["kind"], registry=own)
        self.change_waits = Counter(PREFIX + "change_waits", "Changes requests that asked to wait, by how they "
                                    "ended: change, time, or full (max_waiting reached: answered at once).",
                                    ["outcome"], registry=own)
        # livesum: the waiters of every live process, added up.
        self.change_waiters = Gauge(PREFIX + "change_waiters", "Changes requests waiting for a change now.",
                                    registry=own, multiprocess_mode="livesum")
        # Every outcome is exposed from the start, at 0 (an alert's rate()
        # needs the series before its first increase).
        self.identity_outcomes = {outcome: self.identity_checks.labels(outcome) for outcome in IDENTITY_OUTCOMES}
        self.wait_outcomes = {outcome: self.change_waits.labels(outcome) for outcome in WAIT_OUTCOMES}
        self.changes_of = {kind: self.changes.labels(kind) for kind in ("instances", "applications")}
        self._children = {}
        # What a scrape answers besides the gauges: ours, summed over the
        # processes in multiprocess mode.
        self.kept = own if self.multiprocess_dir is None else OursOnly(self.multiprocess_dir)

    # -- the request path ------------------------------------------------------
    def request_done(self, operation, code, started):
        # Each (operation, code)'s children are looked up once: ``labels()``
        # takes the metric's lock on every call, a dictionary read does not.
        # (Operations and codes are a small fixed set: the dictionary stays small.)
        children = self._children.get((operation, code))
        if children is None:
            children = (self.requests.labels(operation, str(code)), self.duration.labels(operation))
            self._children[(operation, code)] = children
        children[0].inc()
        children[1].observe(time.perf_counter() - started)

    def identity_checked(self, outcome):
        self.identity_outcomes[outcome].inc()

    def identity_cache_hit(self):
        self.identity_cache_hits.inc()

    def database_was_unavailable(self):
        self.database_unavailable.inc()

    def changes_answered(self, kind, entries):
        self.changes_of[kind].inc(entries)

    def change_waiting(self, delta):
        self.change_waiters.inc(delta)

    def change_wait_ended(self, outcome):
        self.wait_outcomes[outcome].inc()

    # -- the scrape --------------------------------------------------------------
    def exposition(self, figures):
        """(body bytes, content type) of the Prometheus text format; ``figures``
        are the public counts now (``counts.Counts.figures``), for the gauges
        (None: unknown, no gauges)."""
        return generate_latest(Scrape(self.kept, CountsCollector(figures))), CONTENT_TYPE_LATEST


class NoMetrics:
    """``lambda_registry.metrics = false``: the same calls, doing nothing."""

    enabled = False

    def request_done(self, operation, code, started):
        pass

    def identity_checked(self, outcome):
        pass

    def identity_cache_hit(self):
        pass

    def database_was_unavailable(self):
        pass

    def changes_answered(self, kind, entries):
        pass

    def change_waiting(self, delta):
        pass

    def change_wait_ended(self, outcome):
        pass
