"""Screenshots of the landing page and the docs page, at 1280 and 375 px
wide, into docs/screenshots/ (linked from the README):

    .venv/bin/python -m tests.screenshots

The pages are served by real waitress from a scratch SQLite database filled
through the API with a plausible day of a small deployment.
"""

import pathlib
import tempfile
import uuid

import lambda_registry
from lambda_registry import get_components
from lambda_registry.storage.migrate import upgrade

from .browser import LocalPage, launched_browser
from .support import ROOT, call, new_application, new_instance, served

OUTPUT = ROOT / "docs" / "screenshots"
USERS = {f"screenshot-token-{n}": f"user-{n}" for n in range(1, 8)}
# (status, how many) of the instances, and of the applications.
INSTANCE_STATUSES = [("0", 9), ("1", 2), ("20", 1), ("6", 16), ("9", 2), ("13", 1)]
APPLICATION_STATUSES = [("0", 7), ("1", 1), ("2", 1)]
TIMES_STARTED = 14


def fill(address):
    tokens = list(USERS)
    for kind, statuses, body in (("lambda_instances", INSTANCE_STATUSES, new_instance),
                                 ("lambda_applications", APPLICATION_STATUSES, new_application)):
        made = 0
        for status, how_many in statuses:
            for _ in range(how_many):
                record = body(str(uuid.uuid4()), status=status)
                assert call(address, "POST", f"/api/{kind}/", tokens[made % len(tokens)], record)[0] == 202
                made += 1
                if kind == "lambda_applications" and status == "0":
                    for _ in range(TIMES_STARTED // 7):
                        path = f"/api/{kind}/{record['uuid']}/increment_started"
                        assert call(address, "POST", path, tokens[(made - 1) % len(tokens)])[0] == 202


def main():
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{pathlib.Path(scratch) / 'screenshots.sqlite'}"
        upgrade(url)
        app = lambda_registry.main({}, **{
            "sqlalchemy.url": url,
            "lambda_registry.auth": "static",
            "lambda_registry.static_tokens": "\n".join(f"{token} {user}" for token, user in USERS.items()),
        })
        with served(app) as address, launched_browser() as browser:
            fill(address)
            base = f"http://{address[0]}:{address[1]}"
            for width, height in ((1280, 900), (375, 812)):
                page = LocalPage(browser, viewport={"width": width, "height": height}, color_scheme="light")
                page.page.goto(base + "/")
                page.page.screenshot(path=OUTPUT / f"landing-{width}.png", full_page=True)
                page.page.goto(base + "/api/docs")
                page.page.wait_for_selector(".opblock-summary-path")
                page.page.screenshot(path=OUTPUT / f"docs-{width}.png")
                assert page.refused == [] and page.console_errors == []
                page.close()
        get_components(app.registry).database.dispose()
    print(f"screenshots in {OUTPUT}")


if __name__ == "__main__":
    main()
