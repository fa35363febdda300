"""The short cache of the public counts."""

from sqlalchemy import text
import webtest

from lambda_registry import get_components
from lambda_registry.counts import CountsCache

from .support import ALICE, FakeClock, new_instance


def bump_behind_the_apps_back(engine, by):
    """What another process's write does to the counters."""
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO lambda_instance_status_counts (status, record_count) VALUES (0, :by) "
                 "ON CONFLICT (status) DO UPDATE SET record_count = lambda_instance_status_counts.record_count + :by"),
            {"by": by},
        )


def counted(app, key="running"):
    return app.get("/api/lambda_instances/count").json["data"][key]


def test_other_processes_writes_show_within_count_cache_seconds(make_app, clean_db):
    app = make_app(**{"lambda_registry.count_cache_seconds": "0.5"})
    clock = get_components(app.registry).counts.cache.clock = FakeClock()
    client = webtest.TestApp(app)
    assert counted(client) == "0"
    bump_behind_the_apps_back(clean_db, 3)
    clock.now += 0.4
    assert counted(client) == "0"  # cached
    clock.now += 0.2
    assert counted(client) == "3"


def test_this_processes_writes_show_at_once(make_app):
    app = webtest.TestApp(make_app(**{"lambda_registry.count_cache_seconds": "60"}))
    assert counted(app, "count") == "0"
    app.post_json("/api/lambda_instances/", new_instance(status="0"), headers=ALICE, status=202)
    assert counted(app, "count") == "1"
    # A refused write changes nothing.
    app.post_json("/api/lambda_instances/", new_instance(status="0"), headers=ALICE, status=409)
    assert app.get("/api/lambda_instances/count").json["data"] == {"count": "1", "running": "1", "created": "1", "failed": "0"}


def test_zero_seconds_disables_the_cache(make_app, clean_db):
    app = webtest.TestApp(make_app(**{"lambda_registry.count_cache_seconds": "0"}))
    counted(app)
    bump_behind_the_apps_back(clean_db, 2)
    assert counted(app) == "2"


def test_an_invalidation_during_a_load_keeps_the_loaded_value_out():
    cache = CountsCache(60)
    stale = {0: 1}

    def load_while_a_write_commits():
        cache.invalidate("instance")  # the write committed after our read began
        return stale

    assert cache.get("instance", load_while_a_write_commits) == stale
    assert cache.get("instance", lambda: {0: 2}) == {0: 2}  # the stale value was not kept


def test_entries_are_forgotten_one_by_one():
    cache = CountsCache(60)
    cache.get("instance", lambda: 1)
    cache.get("application", lambda: 2)
    cache.invalidate("instance")
    assert (cache.get("instance", lambda: 3), cache.get("application", lambda: 4)) == (3, 2)


def test_an_aborted_write_does_not_empty_the_cache(make_app, clean_db):
    app = make_app(**{"lambda_registry.count_cache_seconds": "60"})
    client = webtest.TestApp(app)
    assert counted(client, "count") == "0"
    bump_behind_the_apps_back(clean_db, 5)  # unseen: the cache holds 0
    client.post_json("/api/lambda_instances/", new_instance(status="0"), headers=ALICE, status=202)
    client.post_json("/api/lambda_instances/", new_instance(status="0"), headers=ALICE, status=409)
    assert counted(client, "count") == "6"  # emptied by the commit: 5 + 1
    bump_behind_the_apps_back(clean_db, 1)
    client.post_json("/api/lambda_instances/", new_instance(status="0"), headers=ALICE, status=409)
    assert counted(client, "count") == "6"  # the refused write emptied nothing
