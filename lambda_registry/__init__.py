"""lambda_registry: the central registry of ~okeanos Lambda instances.

``includeme`` adds the whole API to any Pyramid application, under its
``route_prefix``, touching nothing of the host but our own routes and
views (and, with ``lambda_registry.pages``, a renderer only we name): no
tween, subscriber, execution policy or global exception view. ``main``
builds the standalone application (``pserve``): ``includeme`` plus what
only a whole application needs (its transaction manager, the JSON 404,
the security policy, waitress's log summary, the pages on by default).
docs/architecture.md draws the way of a request through the package.
"""

import logging
import warnings

# pyramid 2.1 imports pkg_resources (pyramid/path.py, pyramid/asset.py), which
# setuptools >= 81 answers with a UserWarning at every start; nothing of ours
# uses it. Ignored only for pyramid's own imports, and only when we are
# imported first (our console scripts, gunicorn --paste); pserve imports
# pyramid before us, so the Makefile's serve sets PYTHONWARNINGS the same way.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning, module=r"pyramid\.")

from pyramid.config import Configurator  # noqa: E402 (after the filter above)
from pyramid.decorator import reify
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request
from pyramid.tweens import EXCVIEW
import pyramid_tm

from . import pages
from .auth import policy_for
from .components import Components, get_components, set_components
from .counts import Counts
from .logs import summarise_waitress_queue_warnings
from .metrics import Metrics
from .services import applications, instances, operations, users
from .services.changes import ChangeWaiters
from .services.service import register
from .settings import parse_settings
from .storage import database_for, describe_database
from .web import errorviews
from .web.envelope import EnvelopeError
from .web.urls import ours_pattern, path_of, prefix_of

# What a host's code may use: our parts (and the record services among
# them), and the error they raise, whose body is the API's envelope.
__all__ = ["EnvelopeError", "get_components", "includeme", "main"]

log = logging.getLogger(__name__)


def includeme(config):
    components = set_components(config.registry, Components(settings=parse_settings(config.get_settings())))
    settings = components.settings
    components.database = database_for(settings)
    # Which database this server serves, once at start (never a password).
    log.info("lambda_registry serves the database %s", describe_database(settings))
    components.counts = Counts(components.database, settings.count_cache_seconds, settings.count_fold_every)
    if settings.metrics:
        components.metrics = Metrics()
    components.users = users.SeenUsers(components.database, components.counts)
    components.waiters = ChangeWaiters(components.database, settings.changes_max_waiting, components.metrics)
    components.policy = policy_for(config)
    components.instances = instances.InstanceService(components)
    components.applications = applications.ApplicationService(components)
    components.services = tuple(
        operations.services(components) + components.instances.services()
        + components.applications.services() + users.services(components)
    )
    register(config, components.services)
    if settings.pages:
        pages.register(config, settings.pages_refresh_seconds)
    # Our error views answer only under our own URLs: a host's errors stay the host's.
    our_paths = [path_of(service.path) for service in components.services] + (pages.PATHS if settings.pages else [])
    errorviews.register(config, ours_pattern(prefix_of(config), our_paths))


def writes_only(request):
    """pyramid_tm's activate hook: reads (GET, HEAD, OPTIONS) run outside any transaction."""
    return request.method not in ("GET", "HEAD", "OPTIONS")


# Transaction-managed, as the Pylons cookiecutter is: every write of a
# request joins its request.tm, committed (or aborted) by pyramid_tm once
# the view has answered; reads are left outside it.
TRANSACTION_SETTINGS = {
    "tm.manager_hook": "pyramid_tm.explicit_manager",
    "tm.activate_hook": "lambda_registry.writes_only",
    # A returned error response aborts too (ours are raised; a second guard).
    "tm.commit_veto": "pyramid_tm.default_commit_veto",
    # Else pyramid_tm asks the security policy who the user is before any
    # view runs: a token would be checked before a bad body is refused.
    "tm.annotate_user": "false",
}


class TransactionRequest(Request):
    """pyramid_tm's ``request.tm``, as a class attribute.

    ``config.include("pyramid_tm")`` adds it with
    ``add_request_method(reify=True)``, and a request method that is a
    property makes Pyramid build a new request class for every request:
    that cost 0.17-0.19 M instructions per request, more than a whole
    count answer (bench/instructions.py, docs/performance.md). The same
    tween and the same ``create_tm`` on our own request class cost none
    of it. (``create_tm`` is what pyramid_tm's include registers; it is a
    public name of the module, though its documentation only describes
    the include and the tween.) A host that includes pyramid_tm itself
    keeps its own way."""

    tm = reify(pyramid_tm.create_tm)


def main(global_config, **settings):
    """The standalone WSGI application, for ``pserve`` and waitress."""
    if not settings.get("lambda_registry.auth"):
        raise ConfigurationError(
            "lambda_registry.auth is not set: a standalone registry has no host "
            "to authenticate for it (use okeanos, static or package.module:factory)"
        )
    for name, value in TRANSACTION_SETTINGS.items():
        settings.setdefault(name, value)
    # The landing page and the docs are the standalone service's face; a
    # host turns them on itself.
    settings.setdefault("lambda_registry.pages", "true")
    with Configurator(settings=settings) as config:
        # What config.include("pyramid_tm") does, but its request.tm (above).
        config.set_request_factory(TransactionRequest)
        config.add_tween("pyramid_tm.tm_tween_factory", over=EXCVIEW)
        config.include(includeme)
        # Standalone, the whole application is ours: every URL answers in JSON.
        config.add_notfound_view(errorviews.http_exception_view)
        config.set_security_policy(get_components(config.registry).policy)
    # The server is ours too: waitress would log a line per queued request.
    summarise_waitress_queue_warnings()
    return config.make_wsgi_app()
