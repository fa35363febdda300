"""An example portal: its own login, pages, errors and data, and
lambda_registry included under a prefix.

Who the registry's owner is comes from the portal's own security policy
(a cookie session), because ``lambda_registry.auth`` is not set.
"""

import html
import logging

from pyramid.config import Configurator
from pyramid.exceptions import URLDecodeError
from pyramid.httpexceptions import HTTPFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import forget, remember
from pyramid.session import SignedCookieSessionFactory

from lambda_registry import EnvelopeError, get_components

from .models import AuditEntry, Base, create_portal_tables
from .security import PortalSecurityPolicy

log = logging.getLogger(__name__)


class PortalRoot:
    """The portal's own root: its pages can tell they got it."""

    name = "portal-root"

    def __init__(self, request):
        self.request = request


def parse_users(text):
    pairs = (line.split() for line in text.splitlines() if line.strip())
    return {user: password for user, password in pairs}


def page(title, body, status=200):
    return Response(
        f"<!doctype html><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>{body}",
        status=status,
        content_type="text/html",
    )


def registry_list(request, collection):
    """The user's records as the registry's API gives them (a subrequest
    carrying the user's session cookie): (HTTP status, records)."""
    prefix = request.registry.settings["portal.registry_prefix"]
    sub = Request.blank(f"{prefix}/api/{collection}/", headers={"Cookie": request.headers.get("Cookie", "")})
    answer = request.invoke_subrequest(sub, use_tweens=True)
    return answer.status_int, (answer.json["data"] if answer.status_int == 200 else [])


def table(headings, rows):
    head = "".join(f"<th>{html.escape(heading)}</th>" for heading in headings)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def home(request):
    user = request.authenticated_userid
    if user is None:
        return HTTPFound(request.route_url("login"))
    # The page shows the user's instances and applications as the API gives them.
    status, instances = registry_list(request, "lambda_instances")
    _, applications = registry_list(request, "lambda_applications")
    return page(
        f"Lambda instances of {user}",
        f"<p>context: {html.escape(request.context.name)}; the registry answered {status}</p>"
        + table(["uuid", "name", "status"], [(r["uuid"], r["name"], r["status_name"]) for r in instances])
        + "<h2>Lambda applications</h2>"
        + table(["uuid", "name", "status", "times started"],
                [(r["uuid"], r["name"], r["status_name"], r["times_started"]) for r in applications])
        + f"<form method=post action='{request.route_url('logout')}'><button>Sign out</button></form>",
    )


def login(request):
    if request.method == "POST":
        user, password = request.POST.get("user", ""), request.POST.get("password", "")
        if request.registry.portal_users.get(user) == password and password:
            headers = remember(request, user)
            return HTTPSeeOther(request.route_url("home"), headers=headers)
        return page("Sign in", "<p>Wrong user or password.</p>" + LOGIN_FORM, status=403)
    return page("Sign in", LOGIN_FORM)


LOGIN_FORM = (
    "<form method=post><input name=user placeholder=user> "
    "<input name=password type=password placeholder=password> <button>Sign in</button></form>"
)


def logout(request):
    return HTTPSeeOther(request.route_url("login"), headers=forget(request))


def audit_then_maybe_fail(request):
    """Writes the portal's audit entry and a registry record in one transaction;
    with ?fail=1 it then fails, and neither may remain. The registry's
    service validates the record as its API does: a bad one is refused with
    the API's errors, and nothing is kept."""
    user = request.authenticated_userid or "anonymous"
    request.portal_dbsession.add(AuditEntry(user=user, action="imported an instance"))
    fields = {"uuid": request.params.get("uuid", ""), "name": "imported by the portal", "instance_info": "{}",
              "status": "2"}
    try:
        get_components(request.registry).instances.create(request, user, fields)
    except EnvelopeError as refused:
        request.tm.doom()  # the audit entry goes too
        errors = "".join(
            f"<li data-location='{html.escape(e['location'])}' data-name='{html.escape(e['name'])}'>"
            f"{html.escape(e['description'])}</li>"
            for e in refused.json_body["errors"]
        )
        return page("Not imported", f"<ul class=errors>{errors}</ul>", status=refused.status_int)
    if request.params.get("fail"):
        raise RuntimeError("the portal failed after writing")
    return page("Imported", "<p>done</p>")


def portal_not_found(request):
    return page("Portal: no such page", "<p>The portal has no page here.</p>", status=404)


def portal_bad_url(exc, request):
    return page("Portal: that address is not valid", "<p>Check the address.</p>", status=400)


def portal_error(exc, request):
    # The raw path: request.path would decode it, and fail on a URL that is
    # not UTF-8, inside the very view that reports failures.
    log.error("portal error on %r", request.environ.get("PATH_INFO", ""), exc_info=exc)
    return page("Portal: something went wrong", "<p>Sorry.</p>", status=500)


def main(global_config, **settings):
    with Configurator(settings=settings, root_factory=PortalRoot) as config:
        config.registry.portal_users = parse_users(settings.get("portal.users", ""))
        # Not readable by scripts, not sent on cross-site subrequests.
        config.set_session_factory(
            SignedCookieSessionFactory(settings["portal.session_secret"], httponly=True, samesite="Lax")
        )
        config.set_security_policy(PortalSecurityPolicy())
        config.include("pyramid_tm")
        config.include(".models")
        config.add_route("home", "/")
        config.add_route("login", "/login")
        config.add_route("logout", "/logout")
        config.add_route("audit", "/audit-import")
        config.add_view(home, route_name="home")
        config.add_view(login, route_name="login")
        config.add_view(logout, route_name="logout", request_method="POST")
        config.add_view(audit_then_maybe_fail, route_name="audit", request_method="POST")
        config.add_notfound_view(portal_not_found)
        config.add_exception_view(portal_bad_url, context=URLDecodeError)
        config.add_exception_view(portal_error, context=Exception)
        # The registry, with every setting from this ini's lambda_registry.* names.
        config.include("lambda_registry", route_prefix=settings["portal.registry_prefix"])
    return config.make_wsgi_app()


__all__ = ["main", "AuditEntry", "Base", "create_portal_tables"]
