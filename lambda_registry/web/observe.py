"""What every request of ours gets once it is known to be ours: its id
(``X-Request-ID`` on the answer, and in every log line written while it is
served: ``logs.REQUEST_ID``), and its metrics (``metrics.py``).

Begun by the first check of each of our views (``services/service.py``),
by the pages' views, and by our error views for what matched no view of
ours (operation "unknown"): never by a tween or a subscriber, which would
see every request of a host.
"""

import os
import re
import time

from ..components import get_components
from ..logs import REQUEST_ID
from ..metrics import UNKNOWN_OPERATION

HEADER = "X-Request-ID"
ENVIRON_KEY = "HTTP_X_REQUEST_ID"
# What requests that are not an operation of the OpenAPI document are
# counted as (besides "unknown": a URL of ours that matched no view).
PREFLIGHT = "preflight"
LANDING_PAGE, DOCS_PAGE, PAGE_ASSET, ME_PAGE = "landing_page", "docs_page", "page_asset", "me_page"
UNKNOWN = UNKNOWN_OPERATION
# What a proxy's id may be to be kept (SPEC.md); anything else gets a new one.
ACCEPTED_ID = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
# Where the id of a request begun is kept: its environ.
ATTRIBUTE = "lambda_registry.request_id"


def request_id_for(request):
    """The request's own id if it is acceptable, else a new random one (128
    bits, as hex). Read from the environ and made from ``os.urandom``: the
    headers' view and a ``uuid.UUID`` cost some 27 k instructions a request
    more (callgrind, docs/performance.md)."""
    given = request.environ.get(ENVIRON_KEY)
    if given is not None and ACCEPTED_ID.match(given):
        return given
    return os.urandom(16).hex()


def begin(request, operation):
    """Start observing ``request`` as ``operation`` (its operationId); a second call changes nothing."""
    environ = request.environ
    if ATTRIBUTE in environ:
        return
    request_id = environ[ATTRIBUTE] = request_id_for(request)
    REQUEST_ID.set(request_id)
    started = time.perf_counter()
    metrics = get_components(request.registry).metrics

    def answered(request, response):
        # Appended, not set: the answer holds no id yet (setting scans and rebuilds the header list).
        response.headerlist.append((HEADER, request_id))
        metrics.request_done(operation, response.status_code, started)

    request.add_response_callback(answered)
    request.add_finished_callback(_ended)


def _ended(request):
    REQUEST_ID.set("-")
