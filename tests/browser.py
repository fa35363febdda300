"""A real headless Chromium for the page tests and the screenshots.

Debian's ``chromium`` package (``.ci/run`` installs it when missing),
driven by Playwright. Every page is opened in a context that lets requests
to 127.0.0.1 through and refuses, and records, any other: a page that
reached for a CDN fails its test even if the CSP did not stop it.
"""

import contextlib
import os
import shutil
import urllib.parse

from playwright.sync_api import sync_playwright
import pytest

CHROMIUM_VARIABLE = "LAMBDA_REGISTRY_CHROMIUM"
# CI sets it: there a missing browser fails the run instead of skipping.
REQUIRED_VARIABLE = "LAMBDA_REGISTRY_REQUIRE_BROWSER"
ARGS = [
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # Nothing of Chromium's own talks to the network either.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path():
    path = os.environ.get(CHROMIUM_VARIABLE) or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = f"no chromium on this machine (install Debian's chromium, or set {CHROMIUM_VARIABLE})"
        if os.environ.get(REQUIRED_VARIABLE):
            pytest.fail(message)
        pytest.skip(message)
    return path


@contextlib.contextmanager
def launched_browser(path=None):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path or chromium_path(), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


class LocalPage:
    """A page in a fresh context, its requests and console errors recorded."""

    def __init__(self, browser, **context_options):
        self.context = browser.new_context(**context_options)
        self.requests, self.refused, self.console_errors = [], [], []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console_errors.append(str(error)))

    def _route(self, route):
        url = route.request.url
        if urllib.parse.urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.refused.append(url)
            route.abort("blockedbyclient")

    def _console(self, message):
        if message.type == "error":
            self.console_errors.append(message.text)

    def close(self):
        self.context.close()
