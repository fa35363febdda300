"""Our endpoints, each declared once, behind one Cornice ``Service`` subclass.

This is the only module that imports Cornice: were it ever replaced, this
file changes and the services do not. Cornice's public ``Service``
declares each endpoint, and ``register_service_views`` (the function
behind Cornice's documented ``config.add_cornice_service`` directive)
adds its routes and views. We call it without ``config.include("cornice")``
on purpose: that include would add to a whole host application a
NewRequest subscriber, a reified request method (a new request class per
request), a global ``content_type`` view predicate and exception views for
every URL. What its subscriber sets on a request (``validated``,
``errors``, ``info``), our first validator sets on ours.

Each view is declared by an ``Operation``: what it takes (a token, a body,
a query string, no body, a uuid in its path) and what it answers. Its
validators are made from that declaration, and so is its part of the
OpenAPI document (``web/openapi.py``): the two cannot disagree.
"""

import dataclasses
import typing

import cornice
from cornice.errors import Errors
from cornice.pyramidhook import register_service_views

from ..auth import identify_owner
from ..components import get_components
from ..settings import get_settings
from ..web.conditional import conditional_get
from ..web.cors import ServiceCors
from ..web.envelope import error, error_entry
from ..web.observe import PREFLIGHT, begin
from ..web.urls import route_pattern
from ..web.validation import body_validator, json_body_expected, no_body_expected, query_validator, uuid_in_path


@dataclasses.dataclass(frozen=True)
class Operation:
    """One view of a service: what it takes, and what it answers on success."""

    id: str  # its operationId
    code: int
    description: str  # the short_description of its success
    # The component of its answer: an envelope made from ``data``, or (``raw``) any document.
    answer: str
    data: dict | None = None
    # What it takes: a token, a JSON body (a colander schema), a query string
    # (a colander schema), no body at all; for a {uuid} in its path, the 404
    # of a uuid that is malformed or not the caller's (``not_found(uuid)``).
    token: bool = False
    body: typing.Any = None
    query: typing.Any = None
    no_body: bool = False
    not_found: typing.Callable | None = None
    # What else it may answer.
    pagination: bool = False
    changes: bool = False  # a changes feed's cursor (``changes`` beside ``data``)
    gone: bool = False  # a 410: a changes cursor too old
    conflicts: bool = False  # a 409
    location: bool = False  # a Location header
    raw: bool = False  # the document itself, not an envelope
    media_type: str = "application/json"  # of a success (raw: any)
    database: bool = True  # False: never a 503 for the database
    # Conditional requests (web/conditional.py): a GET answering an ETag and
    # 304 to If-None-Match; a write of one record taking If-Match (412); a
    # write answering the record's new ETag.
    conditional: bool = False
    if_match: bool = False
    answers_tag: bool = False
    # OpenAPI links: {link name: (operationId, runtime expression of the uuid)}.
    links: dict = dataclasses.field(default_factory=dict)

    def validators(self):
        """In the order a request is refused: what it sends, who sends it, which record, then its fields."""
        validators = []
        if self.body is not None:
            validators.append(json_body_expected)
        if self.no_body:
            validators.append(no_body_expected)
        if self.token:
            validators.append(identify_owner)
        if self.not_found is not None:
            validators.append(uuid_in_path(self.not_found))
        if self.body is not None:
            validators.append(body_validator(self.body))
        if self.query is not None:
            validators.append(query_validator(self.query))
        return tuple(validators)


def _private(request, response):
    response.headers.setdefault("Cache-Control", "private")


class RegistryContext:
    """Our routes' own context, so that a host's root factory never applies."""

    def __init__(self, request):
        self.request = request


class RegistryService(cornice.Service):
    """A Cornice service answering its errors with our envelope; every URL
    also answers with a trailing slash.

    Views run in the order they are added: add GET first, the method of
    most requests, so that Pyramid does not try the others' views (and raise
    and catch a mismatch for each) before it.
    """

    def __init__(self, name, path, tag, for_any_origin=True, **kwargs):
        kwargs.setdefault("factory", RegistryContext)
        super().__init__(name="lambda_registry." + name, path=route_pattern(path), **kwargs)
        self.tag = tag  # its group in the OpenAPI document
        self.operations = {}
        # Needing no token, may a page of any origin read it (SPEC.md
        # "Operations": the counts, the heartbeats, the document)? False: only
        # lambda_registry.cors_origins, as the token endpoints (the version,
        # the metrics: nothing a browser elsewhere has a reason to read).
        self.for_any_origin = for_any_origin

    def add_view(self, method, view, operation=None, **kwargs):
        """Cornice's ``add_view``; with an ``operation``, its validators are the declaration's."""
        validators = () if operation is None else operation.validators()
        if operation is not None and operation.conditional:
            view = conditional_get(view)
        # What the request is counted as (metrics.py): its operationId; our preflights are one.
        observed = operation.id if operation is not None else PREFLIGHT

        private = operation is not None and operation.token

        def start(request, **kwargs):
            begin(request, observed)
            self.start(request)
            if private:
                # One user's answer: no shared cache may keep it for another
                # (a host signing people in with cookies, a proxy in between).
                request.add_response_callback(_private)

        kwargs["validators"] = (start,) + validators + tuple(kwargs.get("validators", ()))
        super().add_view(method, view, **kwargs)
        if operation is not None:
            self.operations[method.upper()] = operation

    def start(self, request):
        """First validator of every view (after ``begin``, its id and metrics):
        Cornice's per-request state, our CORS headers."""
        request.validated = {}
        request.errors = Errors()
        request.info = {}
        self.cors.decorate(request)

    @property
    def public(self):
        """No view of it needs a token."""
        return not any(operation.token for operation in self.operations.values())

    @property
    def public_to_browsers(self):
        """Any origin may read it from a browser (CORS ``*``)."""
        return self.public and self.for_any_origin

    def default_error_handler(self, request):
        # A caller whose token was valid is a user seen, even when what it
        # sent is refused (SPEC.md "Users"); the views record theirs themselves.
        owner = request.validated.get("owner")
        if owner is not None:
            get_components(request.registry).users.seen(request, owner)
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
        service.cors = ServiceCors(service.public_to_browsers, origins,
                                   [m for m in service.defined_methods if m != "OPTIONS"])
        service.add_view("OPTIONS", service.cors.preflight)
        register_service_views(config, service)
