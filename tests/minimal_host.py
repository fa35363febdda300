"""The smallest host application: a few pages of its own, its own 404 and
500 pages, pyramid_tm, and the registry included (with or without a prefix).

Its views count how often they run and note the body stream they were
given, so tests can tell whether anything of ours touched them.
"""

import collections

from pyramid.config import Configurator
from pyramid.response import Response
import transaction.interfaces


def html(text, status=200):
    return Response(f"<!doctype html><p>{text}</p>", status=status, content_type="text/html")


def make_host(settings, route_prefix=None):
    runs = collections.Counter()
    inputs = []

    def home(request):
        runs["home"] += 1
        return html("host: home")

    def flaky(request):
        runs["flaky"] += 1
        # What pyramid_retry retries (a deadlock would be one): a host that
        # did not ask for retries must see its view run once.
        raise transaction.interfaces.TransientError("the host's own retryable error")

    def receive(request):
        runs["receive"] += 1
        inputs.append(request.environ["wsgi.input"])
        return html(f"host: received {len(request.body_file.read())} bytes")

    def boom(request):
        raise RuntimeError("the host's own failure")

    with Configurator(settings=settings) as config:
        config.include("pyramid_tm")
        config.add_route("home", "/host/home")
        config.add_route("flaky", "/host/flaky")
        config.add_route("receive", "/host/receive")
        config.add_route("boom", "/host/boom")
        config.add_view(home, route_name="home")
        config.add_view(flaky, route_name="flaky")
        config.add_view(receive, route_name="receive", request_method="POST")
        config.add_view(boom, route_name="boom")
        config.add_notfound_view(lambda request: html("host: no such page", 404))
        config.add_exception_view(lambda exc, request: html("host: something went wrong", 500), context=Exception)
        config.include("lambda_registry", route_prefix=route_prefix)
    app = config.make_wsgi_app()
    app.runs, app.inputs = runs, inputs
    return app
