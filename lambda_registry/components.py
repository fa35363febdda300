"""The parts of one lambda_registry application, in one object.

``includeme`` builds it once per application, at start-up, and keeps it on
the Pyramid registry under one name. Everything of ours reaches its parts
through ``get_components(registry)``, never through attributes of the
registry itself; so does a host's code:

    from lambda_registry import get_components
    registry = get_components(request.registry)
    registry.instances.create(request, owner, {"uuid": ..., "name": ..., ...})

The record services (``instances``, ``applications``) are what a host may
call: they validate what they are given with the same schemas as the API,
and write in the request's transaction.
"""

import dataclasses
import typing

from .metrics import NoMetrics

ATTRIBUTE = "lambda_registry"


@dataclasses.dataclass
class Components:
    settings: typing.Any  # settings.RegistrySettings
    database: typing.Any = None  # storage.database.Database, or HostSessionDatabase
    counts: typing.Any = None  # counts.Counts
    # metrics.Metrics with lambda_registry.metrics, else metrics.NoMetrics
    metrics: typing.Any = dataclasses.field(default_factory=NoMetrics)
    users: typing.Any = None  # services.users.SeenUsers
    waiters: typing.Any = None  # services.changes.ChangeWaiters
    policy: typing.Any = None  # our security policy; None: the host's decides
    instances: typing.Any = None  # services.instances.InstanceService
    applications: typing.Any = None  # services.applications.ApplicationService
    services: tuple = ()  # our Cornice services, in the order their routes are tried
    openapi: dict | None = None  # the OpenAPI document, built on first use

    def forget_cached_state(self):
        """Forget what this process remembers of the database (the cached
        counts, which users it recorded when): for a database emptied or
        changed behind its back, as a test does between tests."""
        self.counts.cache.clear()
        self.users.forget()


def get_components(registry) -> Components:
    return getattr(registry, ATTRIBUTE)


def set_components(registry, components):
    setattr(registry, ATTRIBUTE, components)
    return components
