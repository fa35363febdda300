"""The HTTP API, declared with Cornice behind one Service subclass.

Cornice is used only through this module: were it ever replaced, this file
changes and the views do not. We register our services with Cornice's own
registration function instead of including Cornice, whose include would
add a NewRequest subscriber and exception views to a whole host application.
"""

import cornice
from cornice.pyramidhook import register_service_views

from ..web.cors import ServiceCors
from ..web.envelope import error, error_entry
from ..settings import get_settings
from ..web.urls import route_pattern
from ..web.validation import start_request


class RegistryContext:
    """Our routes' own context, so that a host's root factory never applies."""

    def __init__(self, request):
        self.request = request


class RegistryService(cornice.Service):
    """A Cornice service answering its errors with our envelope; every URL
    also answers with a trailing slash.

    ``add_view`` takes ``answer=`` (an ``openapi.Answer``: what the view
    answers on success, for the document) and puts ``start`` first among
    the validators. Views run in the order they are added: add GET first,
    the method of most requests, so that Pyramid does not try the others'
    views (and raise and catch a mismatch for each) before it.
    """

    def __init__(self, name, path, tag, **kwargs):
        kwargs.setdefault("factory", RegistryContext)
        super().__init__(name="lambda_registry." + name, path=route_pattern(path), **kwargs)
        self.tag = tag  # its group in the OpenAPI document
        self.answers = {}

    def add_view(self, method, view, answer=None, **kwargs):
        kwargs["validators"] = (self.start,) + tuple(kwargs.get("validators", ()))
        super().add_view(method, view, **kwargs)
        if answer is not None:
            self.answers[method.upper()] = answer

    def start(self, request, **kwargs):
        """First validator of every view: Cornice's state, our CORS headers."""
        start_request(request)
        self.cors.decorate(request)

    @property
    def public(self):
        """No view of it needs a token."""
        return not any(
            getattr(validator, "requires_token", False)
            for _, _, args in self.definitions for validator in args.get("validators", ())
        )

    def default_error_handler(self, request):
        # Raised rather than returned: the transaction is then aborted.
        errors = [
            error_entry(entry["location"], entry["name"] or "", entry["description"])
            for entry in request.errors
        ]
        raise error(request.errors.status, None, errors)


def register(config, services):
    """Add ``services``' routes and views, and their CORS preflights, to the configuration."""
    if getattr(config.registry, "cornice_services", None) is None:
        config.registry.cornice_services = {}
    origins = get_settings(config.registry).cors_origins
    for service in services:
        service.cors = ServiceCors(service.public, origins, [m for m in service.defined_methods if m != "OPTIONS"])
        service.add_view("OPTIONS", service.cors.preflight)
        register_service_views(config, service)
