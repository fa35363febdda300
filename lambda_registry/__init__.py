"""lambda_registry: the central registry of ~okeanos Lambda instances.

``main`` builds the standalone application (``pserve``); ``includeme`` adds
the whole API to any Pyramid application, under its ``route_prefix``.
"""

import re

from pyramid.config import Configurator

from .logs import summarise_waitress_queue_warnings
from .wsgi import DeclaredBodyLimit


def includeme(config):
    config.include(".settings")
    prefix = (config.route_prefix or "").rstrip("/")
    if prefix and not prefix.startswith("/"):
        prefix = "/" + prefix
    # Our error views answer only under our own URLs (see responses.py).
    config.registry.lambda_registry_path_info = (
        "^" + re.escape(prefix) + r"/(api(/|$)|__heartbeat__|__lbheartbeat__)"
    )
    config.include(".models")
    config.include(".public_counts")
    config.include(".auth")
    config.include(".validation")
    config.include(".services")
    # Here rather than in a sibling include: registered beside Cornice's own
    # exception views, ours (with their path predicate) are the ones chosen.
    config.include(".responses")


def main(global_config, **settings):
    """The standalone WSGI application, for ``pserve`` and waitress."""
    if not settings.get("lambda_registry.auth"):
        from pyramid.exceptions import ConfigurationError

        raise ConfigurationError(
            "lambda_registry.auth is not set: a standalone registry has no host "
            "to authenticate for it (use okeanos, static or package.module:factory)"
        )
    # A returned 4xx/5xx never commits, even if some code returns one.
    settings.setdefault("tm.manager_hook", "pyramid_tm.explicit_manager")
    settings.setdefault("tm.commit_veto", "pyramid_tm.default_commit_veto")
    # pyramid_tm would ask the policy for the user of every request, outside
    # the error views and even for the public count: a remote identity call
    # on the hot path, and a raw 500 when the identity service is down.
    settings.setdefault("tm.annotate_user", "false")
    settings.setdefault("retry.activate_hook", "lambda_registry.models.retry_attempts")
    with Configurator(settings=settings) as config:
        config.include(includeme)
        # Standalone, the whole application is ours: every URL answers in JSON.
        from .responses import http_exception_view

        config.add_notfound_view(http_exception_view)
        config.set_security_policy(config.registry.lambda_registry_policy)
    # The server is ours too: waitress would log a line per queued request.
    summarise_waitress_queue_warnings()
    limit = config.registry.lambda_registry_settings.max_body_bytes
    return DeclaredBodyLimit(config.make_wsgi_app(), limit)
