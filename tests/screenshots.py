"""Screenshots of the landing page (with its chart), a person's page (/me,
signed in, one history open) and the docs page, at 1280 and 375 px wide,
into docs/screenshots/ (linked from the README):

    .venv/bin/python -m tests.screenshots

The pages are served by real waitress from a scratch SQLite database filled
through the API with a plausible day of a small deployment, after four
weeks of clusters written through the store with their own days (so that
the chart has a past).
"""

import datetime
import pathlib
import random
import tempfile
import uuid

import lambda_registry
from lambda_registry import get_components
from lambda_registry.counts import Counts
from lambda_registry.model.kinds import INSTANCES
from lambda_registry.storage.database import Database
from lambda_registry.storage.engine import get_engine
from lambda_registry.storage.migrate import upgrade
from lambda_registry.storage.record_store import RecordStore

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


def past_weeks(url, days=28):
    """Clusters created and destroyed over the past weeks, each write on its own day."""
    engine = get_engine(url)
    database = Database(engine, db_timeout=5, retry_attempts=3)
    moment = {"now": None}
    store = RecordStore(INSTANCES, Counts(database, cache_seconds=0), clock=lambda: moment["now"])
    chance = random.Random(7)
    alive = []
    today = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    for back in range(days, 0, -1):
        for hour in range(chance.randint(1, 4)):
            moment["now"] = today - datetime.timedelta(days=back) + datetime.timedelta(hours=hour)
            if alive and chance.random() < 0.3:
                owner, record = alive.pop(chance.randrange(len(alive)))
                database.write(None, lambda executor: store.change_status(
                    executor, owner, store.lock(executor, owner, record), 6, ""))
            else:
                owner, record = f"user-{chance.randint(1, 7)}", str(uuid.uuid4())
                database.write(None, lambda executor: store.create(executor, owner, {
                    "uuid": record, "name": "hadoop-" + record[:4], "instance_info": "{}",
                    "status": chance.choice([0, 20, 20, 10]), "failure_message": ""}))
                alive.append((owner, record))
    engine.dispose()


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
        past_weeks(url)
        with served(app) as address, launched_browser() as browser:
            fill(address)
            base = f"http://{address[0]}:{address[1]}"
            for width, height in ((1280, 900), (375, 812)):
                page = LocalPage(browser, viewport={"width": width, "height": height}, color_scheme="light")
                page.page.goto(base + "/")
                page.page.screenshot(path=OUTPUT / f"landing-{width}.png", full_page=True)
                page.page.goto(base + "/me")
                page.page.get_by_label("~okeanos token").fill(next(iter(USERS)))
                page.page.get_by_role("button", name="Sign in").click()
                page.page.wait_for_selector('[data-kind="instances"] .record')
                page.page.wait_for_selector('[data-live]:has-text("Up to date")')
                page.page.locator(".record .history-button").first.click()
                page.page.wait_for_selector(".timeline li time")
                page.page.screenshot(path=OUTPUT / f"me-{width}.png", full_page=True)
                page.page.goto(base + "/api/docs")
                page.page.wait_for_selector(".opblock-summary-path")
                page.page.screenshot(path=OUTPUT / f"docs-{width}.png")
                assert page.refused == [] and page.console_errors == []
                page.close()
        get_components(app.registry).database.dispose()
    print(f"screenshots in {OUTPUT}")


if __name__ == "__main__":
    main()
