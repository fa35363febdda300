"""What every token policy of ours shares: a Pyramid 2 security policy whose
identity is the owner id, looked up once per request, and a tally of the
tokens it refuses."""

import logging

from pyramid.request import RequestLocalCache
from pyramid.security import Allowed, Denied

from ..components import get_components
from ..logs import Tally
from .tokens import MALFORMED, token_from_request

log = logging.getLogger(__name__)


def refusal_tally(clock=None):
    """Refused tokens, counted by why, in one warning line per minute at most:
    an operator sees a flood without a line per request, and never a token."""
    options = {} if clock is None else {"clock": clock}
    return Tally(log, "%d token(s) refused or turned away in the last %.0f s: %s", **options)


class TokenPolicy:
    """Base class: subclasses answer ``owner_for_token(token)`` (None if
    invalid); each token checked is counted in the application's metrics
    (``metrics.py``: ``identity_checks`` by outcome)."""

    def __init__(self, tally=None):
        self._cache = RequestLocalCache(self._load_identity)
        self.refusals = tally or refusal_tally()

    def owner_for_token(self, token):
        raise NotImplementedError

    def check(self, token, metrics):
        """The owner of ``token`` (None: refused), counted in ``metrics``. A
        policy with a cache of its own overrides it to count the cache's hits."""
        owner = self.owner_for_token(token)
        metrics.identity_checked("refused" if owner is None else "accepted")
        return owner

    def _load_identity(self, request):
        token = token_from_request(request)
        if token is None:
            return None
        metrics = get_components(request.registry).metrics
        if token is MALFORMED:
            self.refusals.add("malformed")
            metrics.identity_checked("malformed")
            return None
        owner = self.check(token, metrics)
        if owner is None:
            self.refusals.add("refused")
        return owner

    # pyramid.interfaces.ISecurityPolicy
    def identity(self, request):
        return self._cache.get_or_create(request)

    def authenticated_userid(self, request):
        return self.identity(request)

    def permits(self, request, context, permission):
        # Every authenticated caller may use the API; records are scoped to
        # their owner by the queries themselves.
        if self.identity(request) is not None:
            return Allowed("authenticated")
        return Denied("no valid token")

    def remember(self, request, userid, **kw):
        return []

    def forget(self, request, **kw):
        return []
