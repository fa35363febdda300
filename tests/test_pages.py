"""SPEC.md "Web pages", as HTML and headers: the landing page's figures
without JavaScript, the docs page's links, the assets, and where the pages
are served (standalone, embedded, under a prefix). The same pages in a real
browser: tests/test_browser.py."""

import html.parser
import re
import uuid

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
import sqlalchemy
import webtest

from lambda_registry import get_components
from lambda_registry.pages import with_thousands

from .minimal_host import make_host
from .support import ALICE, BOB, assert_envelope, dispose, new_application, new_instance, settings_for

PREFIX = "/registry"
COUNT_URLS = {
    "instances": "/api/lambda_instances/count",
    "applications": "/api/lambda_applications/count",
    "users": "/api/users/count",
}


class FigureParser(html.parser.HTMLParser):
    """{data-source URL: {data-field: text}} of a landing page, and its links."""

    def __init__(self):
        super().__init__()
        self.figures, self.links, self.scripts, self.styles = {}, [], [], []
        self._source = self._field = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-source" in attrs:
            self._source = attrs["data-source"]
            self.figures[self._source] = {}
        if "data-field" in attrs:
            self._field = attrs["data-field"]
            self.figures[self._source][self._field] = ""
        if tag == "a":
            self.links.append(attrs["href"])
        if tag == "script":
            self.scripts.append(attrs["src"])
        if tag == "link":
            self.styles.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "dd":
            self._field = None

    def handle_data(self, data):
        if self._field is not None:
            self.figures[self._source][self._field] += data.strip()


def parse(page):
    parser = FigureParser()
    parser.feed(page.text)
    return parser


def some_of_everything(testapp):
    """Instances, applications and users in several states; the figures they make."""
    for status in ("0", "0", "20", "9", "6"):  # running x2, pending, failed, destroyed
        testapp.post_json("/api/lambda_instances/", new_instance(str(uuid.uuid4()), status=status), headers=ALICE)
    testapp.post_json("/api/lambda_instances/", new_instance(str(uuid.uuid4()), status="0"), headers=BOB)
    started = str(uuid.uuid4())
    testapp.post_json("/api/lambda_applications/", new_application(started, status="0"), headers=ALICE)
    for _ in range(3):
        testapp.post(f"/api/lambda_applications/{started}/increment_started", headers=ALICE)
    testapp.post_json("/api/lambda_applications/", new_application(str(uuid.uuid4()), status="2"), headers=BOB)
    return {
        "instances": {"count": "4", "running": "3", "created": "6", "failed": "1"},
        "applications": {"count": "1", "running": "3", "failed": "1"},
        "users": {"count": "2"},
    }


def test_the_landing_page_shows_the_public_counts_in_its_html(testapp):
    expected = some_of_everything(testapp)
    page = testapp.get("/", status=200)
    assert page.content_type == "text/html"
    figures = parse(page).figures
    for name, url in COUNT_URLS.items():
        assert figures[url] == expected[name]
        # The very figures of the public count endpoints.
        assert testapp.get(url).json["data"] == expected[name]


def test_the_landing_page_is_answered_from_the_counts_cache_without_the_database(app):
    testapp = webtest.TestApp(app)
    testapp.get("/")  # loads the counts
    checkouts = []
    engine = get_components(app.registry).database.engine
    listener = lambda *args: checkouts.append(1)  # noqa: E731
    sqlalchemy.event.listen(engine, "checkout", listener)
    try:
        for _ in range(5):
            testapp.get("/", status=200)
    finally:
        sqlalchemy.event.remove(engine, "checkout", listener)
    assert get_components(app.registry).settings.count_cache_seconds > 0
    assert checkouts == []


def test_figures_have_thousands_separators_as_the_pages_script_writes_them():
    assert [with_thousands(n) for n in (0, 999, 1000, 1234567)] == ["0", "999", "1,000", "1,234,567"]


def test_without_its_database_the_landing_page_says_so_with_a_503(make_app):
    app = make_app(**{"sqlalchemy.url": "sqlite:////nonexistent-directory/for/sure/registry.sqlite",
                      "lambda_registry.db_timeout": "1"})
    testapp = webtest.TestApp(app)
    page = testapp.get("/", status=503)
    assert page.content_type == "text/html"
    assert page.headers["Retry-After"] == "5"
    assert "the registry's database is unavailable" in page.text
    figures = parse(page).figures
    assert {text for section in figures.values() for text in section.values()} == {"–(unknown)"}  # (the parser strips each piece)
    assert set(figures) == set(COUNT_URLS.values())  # the script can still fill them in
    testapp.get("/api/docs", status=200)


def test_the_pages_forbid_anything_from_elsewhere(testapp):
    for url, inline_styles in (("/", False), ("/api/docs", True)):
        headers = testapp.get(url).headers
        policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
        assert policy["default-src"] == "'none'"
        assert policy["script-src"] == policy["connect-src"] == "'self'"
        assert policy["style-src"] == ("'self' 'unsafe-inline'" if inline_styles else "'self'")
        assert policy["frame-ancestors"] == "'none'"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-cache"


def test_the_landing_page_links_its_assets_docs_and_count_endpoints(testapp):
    page = parse(testapp.get("/"))
    assert set(page.figures) == set(COUNT_URLS.values())
    assert {"/api/docs", "/api/openapi.json", *COUNT_URLS.values()} <= set(page.links)
    for asset in page.scripts + page.styles:
        assert testapp.get(asset, status=200).body


def test_the_refresh_interval_is_a_setting(make_app):
    page = webtest.TestApp(make_app(**{"lambda_registry.pages.refresh_seconds": "0.5"})).get("/")
    assert 'data-refresh-seconds="0.5"' in page.text
    assert "every 0.5 seconds" in page.text
    never = webtest.TestApp(make_app(**{"lambda_registry.pages.refresh_seconds": "0"})).get("/")
    assert 'data-refresh-seconds="0"' in never.text
    assert "refreshes them every" not in never.text


def test_the_docs_page_loads_swagger_ui_and_the_document_from_the_same_origin(testapp):
    page = testapp.get("/api/docs", status=200)
    assert 'data-openapi-url="/api/openapi.json"' in page.text
    scripts = parse(page).scripts
    assert scripts == ["/api/assets/swagger-ui-bundle.js", "/api/assets/docs.js"]
    bundle = testapp.get(scripts[0])
    assert bundle.content_type == "text/javascript"
    assert b"SwaggerUIBundle" in bundle.body
    assert testapp.get("/api/docs/", status=200).text == page.text


@pytest.mark.parametrize("name", ["swagger-editor-bundle.js", "LICENSE", "..%2Fpages%2F__init__.py", "landing.py"])
def test_only_the_listed_asset_files_are_served(testapp, name):
    assert_envelope(testapp.get(f"/api/assets/{name}", status=404), 404)


def test_assets_answer_with_their_type_and_may_be_cached(testapp):
    for name, content_type in (("landing.css", "text/css"), ("landing.js", "text/javascript"),
                               ("favicon.svg", "image/svg+xml"), ("swagger-ui.css", "text/css")):
        response = testapp.get(f"/api/assets/{name}", status=200)
        assert response.content_type == content_type
        assert response.headers["Cache-Control"] == "max-age=3600"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        last_modified = response.headers["Last-Modified"]
        testapp.get(f"/api/assets/{name}", headers={"If-Modified-Since": last_modified}, status=304)


def chart_bars(text):
    """{day: active} of the bars of a page's chart."""
    return {day: int(active) for day, active in re.findall(r'<rect class="chart-bar"[^>]*data-day="([^"]+)" '
                                                          r'data-active="(\d+)"', text)}


def test_the_chart_draws_the_daily_series_and_says_it_in_words(testapp):
    for n, status in enumerate(["20", "0", "9", "6"]):
        testapp.post_json("/api/lambda_instances/", new_instance(uuid=str(uuid.UUID(int=n + 1)), status=status),
                          headers=ALICE)
    series = {entry["date"]: int(entry["active"])
              for entry in testapp.get("/api/lambda_instances/count/daily?days=30").json["data"]}
    page = testapp.get("/").text
    assert chart_bars(page) == series and list(series.values())[-1] == 2
    # Without JavaScript or sight: the figures as text, newest first.
    table = re.findall(r"<tr><td><time datetime=\"([^\"]+)\">[^<]+</time></td><td>([\d,]+)</td></tr>", page)
    assert {day: int(active) for day, active in table} == series and table[0][0] == max(series)
    assert "2 now." in page and 'role="img"' in page
    # The refresh's fragment is the same chart, with its ETag.
    fragment = testapp.get("/activity")
    assert fragment.content_type == "text/html" and chart_bars(fragment.text) == series
    testapp.get("/activity", headers={"If-None-Match": fragment.headers["ETag"]}, status=304)
    testapp.post_json(f"/api/lambda_instances/{uuid.UUID(int=1)}/status/", {"status": "6"}, headers=ALICE)
    # (This process's own write empties the cached series: no wait for the cache.)
    assert list(chart_bars(testapp.get("/activity").text).values())[-1] == 1


def test_the_persons_page_is_a_page_with_no_query_of_its_own(testapp, caplog):
    """/me holds no record: its script reads them with the person's token."""
    with caplog.at_level("DEBUG", logger="lambda_registry.sql"):
        page = testapp.get("/me")
    assert [record for record in caplog.records if record.name == "lambda_registry.sql"] == []
    assert page.content_type == "text/html"
    assert "~okeanos token" in page.text and "Sign in" in page.text and "Sign out" in page.text
    assert "form-action 'none'" in page.headers["Content-Security-Policy"]  # a form never submits the token


def test_standalone_pages_can_be_turned_off(make_app):
    testapp = webtest.TestApp(make_app(**{"lambda_registry.pages": "false"}))
    assert_envelope(testapp.get("/", status=404), 404)
    assert_envelope(testapp.get("/activity", status=404), 404)
    assert_envelope(testapp.get("/me", status=404), 404)
    assert_envelope(testapp.get("/api/docs", status=404), 404)
    assert_envelope(testapp.get("/api/assets/landing.css", status=404), 404)


@pytest.mark.parametrize("setting,value", [("pages", "maybe"), ("pages.refresh_seconds", "-1"),
                                           ("pages.refresh_seconds", "soon")])
def test_bad_page_settings_fail_at_start_up(make_app, setting, value):
    with pytest.raises(ConfigurationError, match=f"lambda_registry.{setting}"):
        make_app(**{f"lambda_registry.{setting}": value})


# -- embedded -------------------------------------------------------------------

@pytest.fixture
def host_with_pages(database_url, clean_db):
    app = make_host(settings_for(database_url, **{"lambda_registry.pages": "true"}), route_prefix=PREFIX)
    yield app
    dispose(app)


def test_embedded_the_pages_are_off_by_default(embedded_app):
    testapp = webtest.TestApp(embedded_app)
    assert testapp.get("/", status=404).text == "<!doctype html><p>host: no such page</p>"
    assert_envelope(testapp.get("/api/docs", status=404), 404)


def test_embedded_with_pages_on_they_live_under_the_prefix(host_with_pages):
    testapp = webtest.TestApp(host_with_pages)
    expected = some_of_everything(_Prefixed(testapp))
    page = testapp.get(PREFIX + "/", status=200)
    parsed = parse(page)
    assert parsed.figures == {PREFIX + url: expected[name] for name, url in COUNT_URLS.items()}
    assert {PREFIX + "/api/docs", PREFIX + "/api/openapi.json"} <= set(parsed.links)
    for asset in parsed.scripts + parsed.styles:
        assert asset.startswith(PREFIX + "/api/assets/")
        testapp.get(asset, status=200)
    docs = testapp.get(PREFIX + "/api/docs", status=200)
    assert f'data-openapi-url="{PREFIX}/api/openapi.json"' in docs.text
    assert f'data-chart-source="{PREFIX}/activity"' in page.text
    assert chart_bars(testapp.get(PREFIX + "/activity", status=200).text) == chart_bars(page.text)
    me = testapp.get(PREFIX + "/me", status=200).text
    for attribute, path in (("authenticate", "/api/authenticate"), ("instances", "/api/lambda_instances"),
                            ("applications", "/api/lambda_applications")):
        assert f'data-{attribute}="{PREFIX}{path}"' in me
    assert f'href="{PREFIX}/api/assets/me.js"' in me or f'src="{PREFIX}/api/assets/me.js"' in me
    # Our root answers our errors; the host's own root stays the host's.
    assert_envelope(testapp.post(PREFIX + "/", status=404), 404)
    assert testapp.get("/", status=404).text == "<!doctype html><p>host: no such page</p>"


class _Prefixed:
    """A TestApp whose requests go under PREFIX."""

    def __init__(self, testapp):
        self.testapp = testapp

    def post_json(self, url, *args, **kwargs):
        return self.testapp.post_json(PREFIX + url, *args, **kwargs)

    def post(self, url, *args, **kwargs):
        return self.testapp.post(PREFIX + url, *args, **kwargs)


def test_a_host_with_its_own_jinja2_renderer_keeps_it(database_url, clean_db):
    """Our renderer has its own extension: a host's ``.jinja2`` templates
    render with the host's environment, and ours with ours."""
    settings = settings_for(database_url, **{"lambda_registry.pages": "true"})
    with Configurator(settings=settings) as config:
        config.include("pyramid_jinja2")
        config.add_route("hello", "/host/hello")
        config.add_view(lambda request: {"name": "host"}, route_name="hello", renderer="tests:host_hello.jinja2")
        config.include("lambda_registry", route_prefix=PREFIX)
    app = config.make_wsgi_app()
    try:
        testapp = webtest.TestApp(app)
        assert testapp.get("/host/hello").text.strip() == "hello from the host"
        assert "Lambda instances" in testapp.get(PREFIX + "/").text
    finally:
        dispose(app)
