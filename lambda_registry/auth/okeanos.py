"""The ``okeanos`` policy: tokens validated by the ~okeanos identity service.

One policy (so one cache) per application: every request with a token
already validated costs a keyed hash and a dictionary look-up, no remote
call, and never waits behind requests that need one.
"""

import logging
import math

from ..metrics import NoMetrics
from ..web.envelope import identity_unavailable
from ..settings import get_settings
from .astakos import AstakosClient, IdentityUnavailable
from .cache import ChecksBusy, IdentityCache
from .policy import TokenPolicy
from .tokens import token_key

log = logging.getLogger(__name__)


class OkeanosTokenPolicy(TokenPolicy):
    def __init__(self, client, cache, tally=None):
        super().__init__(tally)
        self.client = client
        self.cache = cache
        self._retry_after = max(1, math.ceil(client.timeout))

    def owner_for_token(self, token):
        return self.check(token, NoMetrics())

    def check(self, token, metrics):
        """The owner (None: refused); a cache hit counted as one, anything
        else (a call, or waiting for another request's call) by its outcome."""
        from_cache = False

        def hit():
            nonlocal from_cache
            from_cache = True

        try:
            owner = self.cache.get_or_load(
                token_key(token),
                lambda: self.client.validate(token),
                # A follower waits for the leader's call, which ends by its timeout.
                wait_timeout=self.client.timeout + 1,
                on_hit=hit,
            )
        except ChecksBusy:
            metrics.identity_checked("busy")
            # Not logged one by one: under a flood that is a line per request.
            self.refusals.add("turned away (identity checks busy)")
            raise identity_unavailable(1, "too many tokens are being checked now; retry in a second") from None
        except (IdentityUnavailable, TimeoutError) as exc:
            metrics.identity_checked("unavailable")
            log.warning("~okeanos identity service unavailable: %s", exc)
            raise identity_unavailable(self._retry_after) from None
        if from_cache:
            metrics.identity_cache_hit()
        else:
            metrics.identity_checked("refused" if owner is None else "accepted")
        return owner


def factory(registry):
    settings = get_settings(registry)
    client = AstakosClient(settings.okeanos_identity_url, settings.okeanos_timeout)
    cache = IdentityCache(
        settings.okeanos_cache_ttl, settings.okeanos_cache_size, settings.okeanos_max_concurrent_checks
    )
    return OkeanosTokenPolicy(client, cache)
