"""The HTTP API, declared with Cornice behind one Service subclass.

Cornice is used only through ``RegistryService``: were it ever replaced, this
file changes and the views do not.
"""

import cornice

from ..responses import error, error_entry


class RegistryContext:
    """Our routes' own context, so that a host's root factory never applies."""

    def __init__(self, request):
        self.request = request


class RegistryService(cornice.Service):
    """A Cornice service answering its errors with our envelope.

    Every URL also answers with a trailing slash, directly: service VMs POST
    and would not follow a redirect.
    """

    def __init__(self, name, path, **kwargs):
        kwargs.setdefault("factory", RegistryContext)
        super().__init__(name="lambda_registry." + name, path=path + "{slash:/?}", **kwargs)

    def default_error_handler(self, request):
        # Raised rather than returned: pyramid_tm then aborts the transaction.
        errors = [
            error_entry(entry["location"], entry["name"] or "", entry["description"])
            for entry in request.errors
        ]
        raise error(request.errors.status, None, errors)


def all_services():
    """Every service, in the order their routes must be tried."""
    from . import health, instances, openapi

    # Order matters: ".../count" must be tried before ".../{uuid}".
    return health.SERVICES + openapi.SERVICES + instances.SERVICES


def includeme(config):
    config.include("cornice")
    for service in all_services():
        config.add_cornice_service(service)
