"""The landing page and the docs page in a real headless Chromium, served by
real waitress (SPEC.md "Web pages"): the figures without JavaScript, a
write showing within one refresh with it, every operation of the document
drawn by Swagger UI, readable at 320 px in both colour schemes, and not one
request leaving 127.0.0.1."""

import time
import urllib.parse
import uuid

import pytest

from .browser import LocalPage, launched_browser
from .minimal_host import make_host
from .support import ALICE_TOKEN, BOB_TOKEN, call, dispose, new_application, new_instance, served, settings_for

REFRESH_SECONDS = 1.0
# What a refresh may take beyond its period: three fetches and the drawing,
# on a busy 2-core CI machine.
REFRESH_SLACK = 1.5
COUNT_PATHS = ("/api/lambda_instances/count", "/api/lambda_applications/count", "/api/users/count")

# Every element with text of its own whose contrast with the background
# behind it (composited up the tree) is under WCAG AA: 4.5:1, or 3:1 for
# large text (24 px, or 18.66 px bold).
CONTRAST_FAILURES = """() => {
  const parse = (color) => {
    const parts = color.match(/[\\d.]+/g).map(Number);
    return {r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1};
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a), a: 1,
  });
  const luminance = ({r, g, b}) => {
    const linear = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  const background = (element) => {
    const layers = [];
    for (let node = element; node; node = node.parentElement) {
      const color = parse(getComputedStyle(node).backgroundColor);
      if (color.a > 0) { layers.push(color); if (color.a >= 1) break; }
    }
    return layers.reverse().reduce((below, layer) => over(layer, below), {r: 255, g: 255, b: 255, a: 1});
  };
  const failures = [];
  for (const element of document.body.querySelectorAll("*")) {
    const ownText = Array.from(element.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!ownText || element.getClientRects().length === 0) continue;
    const style = getComputedStyle(element);
    const back = background(element);
    const fore = over(parse(style.color), back);
    const [lighter, darker] = [luminance(fore), luminance(back)].sort((a, b) => b - a);
    const ratio = (lighter + 0.05) / (darker + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) failures.push(`${element.tagName} "${element.textContent.trim().slice(0, 40)}": ${ratio.toFixed(2)} < ${needed}`);
  }
  return failures;
}"""


@pytest.fixture(scope="module")
def browser():
    with launched_browser() as browser:
        yield browser


@pytest.fixture
def open_page(browser):
    pages = []

    def open_(**context_options):
        pages.append(LocalPage(browser, **context_options))
        return pages[-1]

    yield open_
    for page in pages:
        # Whatever each test checked, nothing left 127.0.0.1.
        assert page.refused == []
        assert all(urllib.parse.urlsplit(url).hostname == "127.0.0.1" for url in page.requests)
        page.close()


@pytest.fixture
def server(make_app):
    with served(make_app(**{"lambda_registry.pages.refresh_seconds": str(REFRESH_SECONDS)})) as address:
        yield address


@pytest.fixture
def host_server(database_url, clean_db):
    """The minimal host with our pages under /registry, on real waitress."""
    settings = settings_for(database_url, **{
        "lambda_registry.pages": "true", "lambda_registry.pages.refresh_seconds": str(REFRESH_SECONDS)})
    app = make_host(settings, route_prefix="/registry")
    with served(app) as address:
        yield address
    dispose(app)


def register(address, prefix="", **instance_fields):
    status, _, _ = call(address, "POST", prefix + "/api/lambda_instances/", ALICE_TOKEN,
                        new_instance(str(uuid.uuid4()), **instance_fields))
    assert status == 202


def browse_until(page, condition, timeout, what):
    """Let the page run until ``condition()`` holds: Playwright delivers the
    page's events to Python only while a call of it waits."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} never happened within {timeout} s"
        page.page.wait_for_timeout(20)


def figures(page):
    """{count URL: {field: text}} as the page shows them now."""
    return page.page.eval_on_selector_all("[data-source]", """sections => Object.fromEntries(sections.map(s => [
        s.getAttribute('data-source'),
        Object.fromEntries(Array.from(s.querySelectorAll('[data-field]')).map(d => [d.dataset.field, d.textContent]))
    ]))""")


def test_without_javascript_the_landing_page_shows_the_counts(server, open_page):
    for status in ("0", "0", "20", "9"):
        register(server, status=status)
    app_uuid = str(uuid.uuid4())
    assert call(server, "POST", "/api/lambda_applications/", BOB_TOKEN, new_application(app_uuid, status="0"))[0] == 202
    assert call(server, "POST", f"/api/lambda_applications/{app_uuid}/increment_started", BOB_TOKEN)[0] == 202

    page = open_page(java_script_enabled=False)
    page.page.goto(f"http://{server[0]}:{server[1]}/")
    shown = figures(page)
    assert shown == {
        COUNT_PATHS[0]: {"count": "3", "running": "2", "created": "4", "failed": "1"},
        COUNT_PATHS[1]: {"count": "1", "running": "1", "failed": "0"},
        COUNT_PATHS[2]: {"count": "2"},
    }
    for path in COUNT_PATHS:  # the very figures of the public endpoints
        assert shown[path] == call(server, "GET", path)[2]["data"]
    assert page.requests[0].endswith("/") and not any("/count" in url for url in page.requests)


@pytest.mark.parametrize("mode", ["standalone", "embedded under /registry"])
def test_with_javascript_a_write_shows_within_one_refresh(request, database_url, mode):
    address = request.getfixturevalue("server" if mode == "standalone" else "host_server")
    # Opened after the server, closed before it: no connection outlives it.
    page = request.getfixturevalue("open_page")()
    prefix = "" if mode == "standalone" else "/registry"
    page.page.goto(f"http://{address[0]}:{address[1]}{prefix}/")
    active = f'[data-source="{prefix}{COUNT_PATHS[0]}"] [data-field="count"]'
    users = f'[data-source="{prefix}{COUNT_PATHS[2]}"] [data-field="count"]'
    assert (page.page.text_content(active), page.page.text_content(users)) == ("0", "0")

    register(address, prefix, status="0")  # Alice's first request: a new instance, and a new user
    written = time.monotonic()
    # Within one refresh period (and the slack): a refresh already under way
    # may have read one count before the write and the other after; the
    # next one then shows both.
    page.page.wait_for_function(
        f"() => document.querySelector('{active}').textContent === '1' && document.querySelector('{users}').textContent === '1'",
        timeout=(REFRESH_SECONDS + REFRESH_SLACK) * 1000)
    assert time.monotonic() - written <= REFRESH_SECONDS + REFRESH_SLACK
    # The chart is redrawn by the same refresh: today's bar is the new figure.
    page.page.wait_for_function(
        "() => Array.from(document.querySelectorAll('[data-chart] .chart-bar')).pop().dataset.active === '1'",
        timeout=2 * (REFRESH_SECONDS + REFRESH_SLACK) * 1000)
    assert page.page.text_content("[data-refresh-problem]") == ""
    # Besides the page and its assets, the script fetched the public counts and the chart, and only them.
    fetched = {urllib.parse.urlsplit(url).path for url in page.requests if "/api/assets/" not in url}
    assert fetched == {prefix + "/", prefix + "/activity"} | {prefix + path for path in COUNT_PATHS}
    assert page.console_errors == []


def test_refreshes_of_unchanged_counts_are_304s_and_a_write_shows_within_one(server, open_page):
    page = open_page()
    polls = []  # (path, status) of every count fetch, in order
    page.page.on("response", lambda response: polls.append(
        (urllib.parse.urlsplit(response.url).path, response.status)) if "/count" in response.url else None)
    page.page.goto(f"http://{server[0]}:{server[1]}/")
    active = f'[data-source="{COUNT_PATHS[0]}"] [data-field="count"]'
    # Three refreshes with nothing written: the first downloads each count, the others are 304s.
    browse_until(page, lambda: len(polls) >= 3 * len(COUNT_PATHS), 3 * (REFRESH_SECONDS + REFRESH_SLACK),
                 "three refreshes")
    first, later = polls[:len(COUNT_PATHS)], polls[len(COUNT_PATHS):3 * len(COUNT_PATHS)]
    assert sorted(first) == sorted((path, 200) for path in COUNT_PATHS)
    assert {status for _, status in later} == {304}, later

    register(server, status="0")
    written, seen = time.monotonic(), len(polls)
    page.page.wait_for_function(f"() => document.querySelector('{active}').textContent === '1'",
                                timeout=(REFRESH_SECONDS + REFRESH_SLACK) * 1000)
    assert time.monotonic() - written <= REFRESH_SECONDS + REFRESH_SLACK
    # The changed counts came back whole (200), and once shown are 304s again.
    assert (COUNT_PATHS[0], 200) in polls[seen:]
    settled = len(polls)
    browse_until(page, lambda: len(polls) >= settled + 2 * len(COUNT_PATHS), 3 * (REFRESH_SECONDS + REFRESH_SLACK),
                 "two more refreshes")
    assert {status for _, status in polls[-len(COUNT_PATHS):]} == {304}
    assert page.page.text_content(active) == "1"
    assert page.console_errors == []


def test_a_refresh_that_fails_says_so_and_keeps_the_figures(server, open_page):
    register(server, status="0")
    page = open_page()
    page.page.goto(f"http://{server[0]}:{server[1]}/")
    # The network goes away under the open page.
    page.context.route("**/count", lambda route: route.abort("connectionrefused"))
    problem = "[data-refresh-problem]"
    page.page.wait_for_function(f"() => document.querySelector('{problem}').textContent !== ''",
                                timeout=(REFRESH_SECONDS + REFRESH_SLACK) * 1000)
    assert "could not be refreshed" in page.page.text_content(problem)
    assert figures(page)[COUNT_PATHS[0]]["count"] == "1"
    # Back, the next refresh clears the message.
    page.context.unroute("**/count")
    page.page.wait_for_function(f"() => document.querySelector('{problem}').textContent === ''",
                                timeout=(REFRESH_SECONDS + REFRESH_SLACK) * 1000)


@pytest.mark.parametrize("mode", ["standalone", "embedded under /registry"])
def test_the_docs_page_draws_every_operation_of_the_document(request, database_url, mode):
    address = request.getfixturevalue("server" if mode == "standalone" else "host_server")
    page = request.getfixturevalue("open_page")()
    prefix = "" if mode == "standalone" else "/registry"
    document = call(address, "GET", prefix + "/api/openapi.json")[2]
    documented = {
        (method.upper(), path, operation["operationId"])
        for path, item in document["paths"].items() for method, operation in item.items()
    }
    page.page.goto(f"http://{address[0]}:{address[1]}{prefix}/api/docs")
    page.page.wait_for_selector(".opblock-summary-path", timeout=15_000)
    drawn = page.page.eval_on_selector_all(".opblock", """blocks => blocks.map(b => [
        b.querySelector('.opblock-summary-method').textContent,
        b.querySelector('.opblock-summary-path').dataset.path,
        b.querySelector('.opblock-summary-path a').getAttribute('href').split('/').pop()
    ])""")
    assert len(drawn) == len(documented) >= 20
    assert {tuple(entry) for entry in drawn} == documented
    assert page.console_errors == []
    # Swagger UI's files and the document, from the registry (under the prefix).
    assert {urllib.parse.urlsplit(url).path for url in page.requests} >= {
        prefix + "/api/openapi.json", prefix + "/api/assets/swagger-ui-bundle.js"}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_landing_page_reads_at_320_px_with_aa_contrast(server, open_page, scheme):
    page = open_page(viewport={"width": 320, "height": 640}, color_scheme=scheme)
    page.page.goto(f"http://{server[0]}:{server[1]}/")
    assert page.page.evaluate("() => document.documentElement.scrollWidth") <= 320
    assert page.page.evaluate(CONTRAST_FAILURES) == []
    # Every figure is labelled: its <dt> names it.
    labels = page.page.eval_on_selector_all(".figure", "fs => fs.map(f => f.querySelector('dt').textContent.trim())")
    assert len(labels) == 8 and all(labels)
