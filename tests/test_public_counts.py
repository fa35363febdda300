"""The short cache of the public count."""

import time

from sqlalchemy import text
import webtest

import lambda_registry
from lambda_registry.public_counts import PublicCountsCache

from .conftest import app_settings
from .support import ALICE, assert_envelope, new_instance


def bump_behind_the_apps_back(engine, by):
    """What another process's write does to the counters."""
    with engine.begin() as connection:
        connection.execute(text("UPDATE lambda_instance_status_counts SET records = records + :by WHERE status = 0"), {"by": by})


def test_other_processes_writes_show_within_count_cache_seconds(database_url, clean_db):
    app = webtest.TestApp(lambda_registry.main({}, **app_settings(database_url, **{"lambda_registry.count_cache_seconds": "0.5"})))
    assert app.get("/api/lambda_instances/count").json["data"]["running"] == "0"
    bump_behind_the_apps_back(clean_db, 3)
    assert app.get("/api/lambda_instances/count").json["data"]["running"] == "0"  # cached
    time.sleep(0.6)
    assert app.get("/api/lambda_instances/count").json["data"]["running"] == "3"


def test_this_processes_writes_show_at_once(database_url, clean_db):
    app = webtest.TestApp(lambda_registry.main({}, **app_settings(database_url, **{"lambda_registry.count_cache_seconds": "60"})))
    assert app.get("/api/lambda_instances/count").json["data"]["count"] == "0"
    app.post_json("/api/lambda_instances/", new_instance(status="0"), headers=ALICE, status=202)
    assert app.get("/api/lambda_instances/count").json["data"]["count"] == "1"
    # A refused write empties nothing, and changes nothing.
    app.post_json("/api/lambda_instances/", new_instance(status="0"), headers=ALICE, status=409)
    assert_envelope(app.get("/api/lambda_instances/count"), 200)


def test_zero_seconds_disables_the_cache(database_url, clean_db):
    app = webtest.TestApp(lambda_registry.main({}, **app_settings(database_url, **{"lambda_registry.count_cache_seconds": "0"})))
    app.get("/api/lambda_instances/count")
    bump_behind_the_apps_back(clean_db, 2)
    assert app.get("/api/lambda_instances/count").json["data"]["running"] == "2"


def test_an_invalidation_during_a_load_keeps_the_loaded_value_out():
    cache = PublicCountsCache(60)
    stale = {0: 1}

    def load_while_a_write_commits():
        cache.invalidate()  # the write committed after our read began
        return stale

    assert cache.get(load_while_a_write_commits) == stale
    assert cache.get(lambda: {0: 2}) == {0: 2}  # the stale value was not kept


def test_an_aborted_transaction_does_not_empty_the_cache():
    cache = PublicCountsCache(60)
    cache.get(lambda: {0: 1})
    cache.invalidate(False)
    assert cache.get(lambda: {0: 9}) == {0: 1}
