"""The web pages (SPEC.md "Web pages", "People's page"): the public landing
page, the API docs, and a person's own page (``/me``), server-rendered
with Jinja2 through pyramid_jinja2.

The landing page shows the public counts from the same per-process cache as
the count endpoints (no query of its own when they are fresh), and the
chart of active instances per day (``chart.py``) from the daily series the
counts keep; its script refreshes the figures from the count endpoints and
the chart from ``/activity`` (the same fragment, drawn by the server). The docs page is Swagger UI, whose
files come from the pinned ``swagger-ui-py`` package and are served here:
neither page loads anything from outside the registry.

Renderers are global to a Pyramid application, so ours is registered under
an extension no host would use (``.lrjinja2``), with its own Jinja2
environment: a host's ``.jinja2`` or ``.pt`` renderers stay the host's, and
we never include ``pyramid_jinja2`` (its include adds ``.jinja2`` for all).
"""

import datetime
import typing

import jinja2
from pyramid.settings import asbool
from pyramid_jinja2 import Jinja2RendererFactory

from pyramid.renderers import render
from pyramid.response import Response

from ..components import get_components
from ..services.service import RegistryContext
from ..storage.failures import is_unavailable
from ..web.conditional import conditional_get
from ..web.observe import DOCS_PAGE, LANDING_PAGE, ME_PAGE, begin
from ..web.urls import path_of, route_pattern
from .assets import Assets
from .chart import active_chart

TEMPLATE_EXTENSION = ".lrjinja2"
# Our pages' route names (pages for people: not in the OpenAPI document).
ROUTE_PREFIX = "lambda_registry.page."
DOCS_PATH = "/api/docs"
ASSETS_PATH = "/api/assets/"
ACTIVITY_PATH = "/activity"
ME_PATH = "/me"
CHART_DAYS = 30
# The paths our error views must cover beyond the API's (the docs and the
# assets are under /api already).
PATHS = ["/", ACTIVITY_PATH, ME_PATH]


class Kind(typing.NamedTuple):
    key: str  # its services' plural: instances, applications
    heading: str
    empty: str


# What a person's page lists, in order.
KINDS = (
    Kind("instances", "Lambda instances", "No Lambda instance of yours yet."),
    Kind("applications", "Lambda applications", "No application of yours yet."),
)

# Every page answers with these. The CSP is the browser-side guarantee of
# "nothing from outside the registry": a page that tried would be refused.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src {styles}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def page_headers(inline_styles):
    # Swagger UI (React) sets style attributes; the landing page has none.
    styles = "'self' 'unsafe-inline'" if inline_styles else "'self'"
    return {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY.format(styles=styles),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        # The counts change: a browser asks again rather than show stale figures.
        "Cache-Control": "no-cache",
    }


def with_thousands(number):
    """1234567 -> "1,234,567", as the page's script writes it too."""
    return f"{int(number):,}"


class Figure(typing.NamedTuple):
    field: str  # its name in the count endpoint's data
    label: str
    note: str = ""


class Section(typing.NamedTuple):
    key: str  # its entry in ``Counts.figures(request)``
    heading: str
    service: str  # the name of its count endpoint's service
    figures: tuple


# What the landing page shows, in order; each section's first figure leads.
SECTIONS = (
    Section("instances", "Lambda instances", "instance_count", (
        Figure("count", "Active"), Figure("running", "Running"), Figure("created", "Created", "ever"),
        Figure("failed", "Failed"))),
    Section("applications", "Lambda applications", "application_count", (
        Figure("count", "Uploaded"), Figure("running", "Running", "times started"), Figure("failed", "Failed"))),
    Section("users", "People", "user_count", (Figure("count", "Users"),)),
)


def register(config, refresh_seconds):
    """Add the landing page, the docs page and their assets."""
    components = get_components(config.registry)
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("lambda_registry.pages", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates change with the package: no stat() of them per request.
        auto_reload=asbool(config.get_settings().get("pyramid.reload_templates")),
    )
    environment.filters["thousands"] = with_thousands
    renderer = Jinja2RendererFactory()
    renderer.environment = environment
    config.add_renderer(TEMPLATE_EXTENSION, renderer)

    assets = Assets()
    config.add_route(ROUTE_PREFIX + "asset", ASSETS_PATH + "{name}", factory=RegistryContext)
    config.add_view(assets.view, route_name=ROUTE_PREFIX + "asset", request_method="GET")
    config.add_route(ROUTE_PREFIX + "landing", "/", factory=RegistryContext)
    config.add_route(ROUTE_PREFIX + "activity", route_pattern(ACTIVITY_PATH), factory=RegistryContext)
    config.add_route(ROUTE_PREFIX + "me", route_pattern(ME_PATH), factory=RegistryContext)
    config.add_route(ROUTE_PREFIX + "docs", route_pattern(DOCS_PATH), factory=RegistryContext)

    # Every URL of the pages is the landing page's (the root, under any
    # prefix) and a fixed path: one route_path per page, not one per link.
    service_paths = {service.name: path_of(service.path) for service in components.services}
    openapi_path = service_paths["lambda_registry.openapi"]
    count_paths = {section.key: service_paths["lambda_registry." + section.service] for section in SECTIONS}
    kind_paths = {kind: service_paths[f"lambda_registry.{kind}"] for kind in ("instances", "applications")}
    authenticate_path = service_paths["lambda_registry.authenticate"]

    def links(request):
        root = request.route_path(ROUTE_PREFIX + "landing").rstrip("/")
        return {
            "landing_url": root + "/",
            "asset": lambda name: root + ASSETS_PATH + name,
            "docs_url": root + DOCS_PATH,
            "openapi_url": root + openapi_path,
            "count_urls": {key: root + path for key, path in count_paths.items()},
            "activity_url": root + ACTIVITY_PATH,
            "me_url": root + ME_PATH,
            "kind_urls": {kind: root + path for kind, path in kind_paths.items()},
            "authenticate_url": root + authenticate_path,
        }

    landing_headers, docs_headers = page_headers(inline_styles=False), page_headers(inline_styles=True)
    refresh_text = f"{refresh_seconds:g}"

    def landing(request):
        begin(request, LANDING_PAGE)
        request.response.headers.update(landing_headers)
        try:
            counts = components.counts.figures(request)
            chart = active_chart(components.counts.active_instances_by_day(request, CHART_DAYS))
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            components.metrics.database_was_unavailable()
            # Still the page, for people: its figures unknown, a 503 for
            # monitors, and its script fills them in once the database is back.
            request.response.status = 503
            request.response.headers["Retry-After"] = "5"
            counts = chart = None
        return {
            "sections": SECTIONS,
            "counts": counts,
            "chart": chart,
            "as_of": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0),
            "refresh_seconds": refresh_text,
            **links(request),
        }

    @conditional_get
    def activity(request):
        """The chart alone, as the landing page includes it (its script's refresh)."""
        begin(request, LANDING_PAGE)
        chart = active_chart(components.counts.active_instances_by_day(request, CHART_DAYS))
        body = render("chart_fragment" + TEMPLATE_EXTENSION, {"chart": chart}, request=request)
        response = Response(body=body.encode("utf-8"), content_type="text/html", charset="utf-8")
        response.headers.update(landing_headers)
        return response

    def me(request):
        """A person's own page: all the work is its script's, with their token (no query here)."""
        begin(request, ME_PAGE)
        request.response.headers.update(landing_headers)
        return {"kinds": KINDS, **links(request)}

    def docs(request):
        begin(request, DOCS_PAGE)
        request.response.headers.update(docs_headers)
        return links(request)

    config.add_view(landing, route_name=ROUTE_PREFIX + "landing", request_method="GET",
                    renderer="landing" + TEMPLATE_EXTENSION)
    config.add_view(activity, route_name=ROUTE_PREFIX + "activity", request_method="GET")
    config.add_view(me, route_name=ROUTE_PREFIX + "me", request_method="GET", renderer="me" + TEMPLATE_EXTENSION)
    config.add_view(docs, route_name=ROUTE_PREFIX + "docs", request_method="GET",
                    renderer="docs" + TEMPLATE_EXTENSION)
