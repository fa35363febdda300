"""Log lines an operator can read: under attack, counted events (one summary
line per interval instead of one line per event); and the id of the
request each line was written for."""

import collections
import contextvars
import logging
import threading
import time

SUMMARY_SECONDS = 60.0


class Tally:
    """Counts events by kind and logs ``message`` with the counts at most once
    per ``interval``: at the first event after a quiet interval (so a lone
    event is logged at once), then at the first event after each interval,
    counting every event since the previous line."""

    def __init__(self, logger, message, interval=SUMMARY_SECONDS, clock=time.monotonic, level=logging.WARNING):
        self.logger = logger
        self.message = message
        self.interval = interval
        self.level = level
        self._clock = clock
        self._lock = threading.Lock()
        self._counts = collections.Counter()
        self._since = None
        self._next_line = float("-inf")

    def add(self, kind):
        now = self._clock()
        with self._lock:
            if self._since is None:
                self._since = now
            self._counts[kind] += 1
            if now < self._next_line:
                return
            counts, since = self._counts, self._since
            self._counts, self._since = collections.Counter(), now
            self._next_line = now + self.interval
        described = ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items()))
        self.logger.log(self.level, self.message, sum(counts.values()), now - since, described)


class QueueWarningSummary(logging.Filter):
    """Turns waitress's "Task queue depth is N", logged once per queued
    request, into one line per interval with the deepest queue seen."""

    def __init__(self, interval=SUMMARY_SECONDS, clock=time.monotonic):
        super().__init__()
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._warnings = 0
        self._deepest = 0
        self._next_line = float("-inf")

    def filter(self, record):
        depth = record.args[0] if isinstance(record.args, tuple) and record.args else 0
        now = self._clock()
        with self._lock:
            self._warnings += 1
            self._deepest = max(self._deepest, depth if isinstance(depth, int) else 0)
            if now < self._next_line:
                return False
            warnings, deepest = self._warnings, self._deepest
            self._warnings = self._deepest = 0
            self._next_line = now + self.interval
        record.msg = "task queue depth up to %d (%d queued requests in this summary; one line per %g s)"
        record.args = (deepest, warnings, self.interval)
        return True


def summarise_waitress_queue_warnings(interval=SUMMARY_SECONDS):
    """Install ``QueueWarningSummary`` on waitress's queue logger, once."""
    queue_logger = logging.getLogger("waitress.queue")
    if not any(isinstance(f, QueueWarningSummary) for f in queue_logger.filters):
        queue_logger.addFilter(QueueWarningSummary(interval))


# -- request ids in log lines ------------------------------------------------------
# The id of the request this thread is serving ("-" when none): set by
# web/observe.py when one of our requests begins, cleared when it ends.
REQUEST_ID = contextvars.ContextVar("lambda_registry_request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Gives every record ``request_id``: the id of the request being served
    when it was logged. For handlers configured with dictConfig
    (``"filters": [...]``); the ini files' ``fileConfig`` takes no filters,
    so they name ``RequestIdFormatter``, which does the same."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class RequestIdFormatter(logging.Formatter):
    """A formatter whose format may name ``%(request_id)s`` (the ini files' ``[formatter_generic]``)."""

    _ids = RequestIdFilter()

    def format(self, record):
        self._ids.filter(record)
        return super().format(record)
