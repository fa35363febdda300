"""lambda_registry: the central registry of ~okeanos Lambda instances.

``includeme`` adds the whole API to any Pyramid application, under its
``route_prefix``, touching nothing of the host but our own routes and
views (and, with ``lambda_registry.pages``, a renderer only we name): no
tween, subscriber, execution policy or global exception view. ``main``
builds the standalone application (``pserve``): ``includeme`` plus what
only a whole application needs (the JSON 404, the security policy,
waitress's log summary, the pages on by default).
"""

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from . import pages
from .web import errorviews
from .counts import CountsCache
from .logs import summarise_waitress_queue_warnings
from .seen_users import SeenUsers
from .services import applications, health, instances, openapi, register, users
from .settings import get_settings
from .web.urls import ours_pattern, path_of, prefix_of

def includeme(config):
    config.include(".settings")
    registry = config.registry
    registry.lambda_registry_counts = CountsCache(get_settings(registry).count_cache_seconds)
    config.include(".storage")
    registry.lambda_registry_seen_users = SeenUsers(registry.lambda_registry_database, registry.lambda_registry_counts)
    config.include(".auth")
    instance_api, application_api = instances.InstanceApi(registry), applications.ApplicationApi(registry)
    services = (
        health.services(registry) + openapi.services(registry) + instance_api.services()
        + application_api.services() + users.services(registry)
    )
    registry.lambda_registry_services = services
    register(config, services)
    settings = get_settings(registry)
    if settings.pages:

        def public_counts(request):
            # What the three public count endpoints answer, from the same cache.
            return {
                "instances": instance_api.figures(request),
                "applications": application_api.figures(request),
                "users": {"count": registry.lambda_registry_seen_users.count(request)},
            }

        pages.register(config, public_counts, settings.pages_refresh_seconds)
    # Our error views answer only under our own URLs: a host's errors stay the host's.
    our_paths = [path_of(service.path) for service in services] + (pages.PATHS if settings.pages else [])
    errorviews.register(config, ours_pattern(prefix_of(config), our_paths))


def main(global_config, **settings):
    """The standalone WSGI application, for ``pserve`` and waitress."""
    if not settings.get("lambda_registry.auth"):
        raise ConfigurationError(
            "lambda_registry.auth is not set: a standalone registry has no host "
            "to authenticate for it (use okeanos, static or package.module:factory)"
        )
    # No pyramid_tm: standalone, our one connection is the only resource, and
    # each write commits itself before its answer (db/access.py), 50 µs a
    # write cheaper (docs/performance.md). In a host with pyramid_tm, our
    # writes join request.tm instead.

    # The landing page and the docs are the standalone service's face; a
    # host turns them on itself.
    settings.setdefault("lambda_registry.pages", "true")
    with Configurator(settings=settings) as config:
        config.include(includeme)
        # Standalone, the whole application is ours: every URL answers in JSON.
        config.add_notfound_view(errorviews.http_exception_view)
        config.set_security_policy(config.registry.lambda_registry_policy)
    # The server is ours too: waitress would log a line per queued request.
    summarise_waitress_queue_warnings()
    return config.make_wsgi_app()
