"""What an operator reaches for: /__version__, the ``lambda_registry``
command (list, export, purge), the metrics of several gunicorn workers,
and a start-up without pkg_resources' warning."""

import datetime
import glob
import http.client
import importlib.metadata
import io
import json
import os
import subprocess
import sys

from alembic.script import ScriptDirectory
import pytest
from sqlalchemy import text

from lambda_registry import get_components
from lambda_registry.scripts import support as command
from lambda_registry.storage.migrate import alembic_config

from .support import (
    ALICE,
    BOB,
    assert_envelope,
    free_port,
    new_application,
    new_instance,
    wait_for,
)
from .test_metrics import requests_counted, samples
from .test_scale_out import answers, write_ini

APP_MODES = ("standalone", "embedded")


def uuid(n):
    return f"00000000-0000-4000-8000-{n:012x}"


def test_version_names_the_installed_package_and_the_schema_revision(testapp, database_url):
    response = testapp.get("/__version__")  # no token
    assert_envelope(response, 200, "OK.")
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert response.json["data"] == {"version": importlib.metadata.version("lambda_registry"), "revision": head}


# -- the command line ---------------------------------------------------------------

@pytest.fixture
def ini(tmp_path, database_url, clean_db):
    return str(write_ini(tmp_path, free_port(), database_url))


def run(ini, *arguments):
    out = io.StringIO()
    assert command.main([ini, *arguments], out=out) == 0
    return out.getvalue()


def test_list_and_export_show_exactly_one_users_records(testapp, ini):
    testapp.post_json("/api/lambda_instances/", new_instance(uuid=uuid(1), name="hadoop"), headers=ALICE)
    testapp.post_json(f"/api/lambda_instances/{uuid(1)}/status", {"status": "0"}, headers=ALICE)
    testapp.post_json("/api/lambda_applications/", new_application(uuid=uuid(2), name="job.jar"), headers=ALICE)
    testapp.post_json("/api/lambda_instances/", new_instance(uuid=uuid(3), name="bobs"), headers=BOB)

    listed = run(ini, "list", "alice").splitlines()
    assert [line.split("\t")[:3] + line.split("\t")[4:] for line in listed] == [
        ["instances", uuid(1), "STARTED", "hadoop"], ["applications", uuid(2), "UPLOADING", "job.jar"]]

    exported = [json.loads(line) for line in run(ini, "export", "alice").splitlines()]
    details = testapp.get(f"/api/lambda_instances/{uuid(1)}", headers=ALICE).json["data"][0]
    application = testapp.get(f"/api/lambda_applications/{uuid(2)}", headers=ALICE).json["data"][0]
    assert exported == [{"kind": "instances", **details}, {"kind": "applications", **application}]
    assert [json.loads(line)["uuid"] for line in run(ini, "export", "bob", "--kind", "instances").splitlines()] == [uuid(3)]
    assert run(ini, "list", "nobody") == ""


def test_purge_removes_exactly_the_old_destroyed_instances(testapp, ini, query, dbengine, counters_agree):
    for n in range(1, 7):
        testapp.post_json("/api/lambda_instances/", new_instance(uuid=uuid(n), status="2"),
                          headers=ALICE if n % 2 else BOB)
    for n in (1, 2, 3, 4):  # destroyed: 1, 2 long ago; 3, 4 just now
        testapp.delete(f"/api/lambda_instances/{uuid(n)}", headers=ALICE if n % 2 else BOB)
    testapp.post_json(f"/api/lambda_instances/{uuid(5)}/status", {"status": "0"}, headers=ALICE)
    long_ago = datetime.datetime(2026, 1, 1)
    # 1 and 2 were destroyed long ago; 6 (pending) was last changed long ago too.
    with dbengine.begin() as connection:
        for n in (1, 2, 6):
            connection.execute(text("UPDATE lambda_instances SET updated_at = :at WHERE uuid = :uuid"),
                               {"at": long_ago, "uuid": uuid(n)})

    def state():
        records = query("SELECT uuid, status FROM lambda_instances ORDER BY uuid")
        history = query("SELECT count(*) FROM lambda_instance_status_changes")[0][0]
        # The command is another process: the app's cached counts would show it within a second.
        get_components(testapp.app.registry).forget_cached_state()
        return records, history, testapp.get("/api/lambda_instances/count").json["data"]

    before = state()
    out = run(ini, "purge", "--older-than-days", "30")
    assert "would remove (dry run: add --apply) 2 destroyed instance(s)" in out
    assert state() == before  # the dry run changed nothing

    out = run(ini, "purge", "--older-than-days", "30", "--apply")
    assert "removed 2 destroyed instance(s)" in out
    records, history, counted = state()
    assert [uuid_ for uuid_, _ in records] == [uuid(n) for n in (3, 4, 5, 6)]
    # Their histories went with them (each had two entries: pending, destroyed).
    assert history == before[1] - 4
    counters_agree()
    assert (counted["count"], counted["running"], counted["failed"]) == (
        before[2]["count"], before[2]["running"], before[2]["failed"])
    assert int(counted["created"]) == int(before[2]["created"]) - 2
    # Each owner's list total agrees too.
    assert testapp.get("/api/lambda_instances/?limit=1", headers=ALICE).json["pagination"]["count"] == 2
    assert testapp.get("/api/lambda_instances/?limit=1", headers=BOB).json["pagination"]["count"] == 2
    assert "removed 0 destroyed" in run(ini, "purge", "--older-than-days", "30", "--apply")


def test_bad_arguments_are_refused_with_a_message(ini, capsys):
    for arguments in (["purge"], ["purge", "--older-than-days", "soon"], ["purge", "--older-than-days", "-1"],
                      ["purge", "--older-than-days", "800000"], ["list"], ["frobnicate"]):
        with pytest.raises(SystemExit) as exit:
            command.main([ini, *arguments])
        assert exit.value.code == 2, arguments
    assert "is not a number of days" in capsys.readouterr().err


def test_the_console_script_starts_without_pkg_resources_warning(ini):
    script = os.path.join(os.path.dirname(sys.executable), "lambda_registry")
    done = subprocess.run([script, ini, "purge", "--older-than-days", "1"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "would remove" in done.stdout
    assert "pkg_resources" not in done.stderr and "Warning" not in done.stderr


# -- metrics of several gunicorn workers ------------------------------------------

def get(port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_under_two_gunicorn_workers_a_scrape_sums_both(tmp_path, database_url, clean_db):
    pytest.importorskip("gunicorn")
    port = free_port()
    ini = write_ini(tmp_path, port, database_url)
    ini.write_text(ini.read_text().replace("lambda_registry.metrics = false", "lambda_registry.metrics = true"))
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"left over from an earlier run")  # on_starting removes it
    environment = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(directory))
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:lambda_registry.gunicorn_hooks", "--paste", str(ini),
         "-w", "2", "--threads", "2", "-b", f"127.0.0.1:{port}"],
        env=environment, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "gunicorn.log", "w"))
    try:
        try:
            wait_for(lambda: answers(("127.0.0.1", port)), timeout=60, what="gunicorn answering")
        except AssertionError:
            raise AssertionError((tmp_path / "gunicorn.log").read_text()[-3000:]) from None
        sent = 1  # answers() made one

        def workers_seen():
            return {os.path.basename(path).rsplit("_", 1)[1] for path in glob.glob(str(directory / "counter_*.db"))}

        # Until both workers have answered some (each request on a new connection).
        while len(workers_seen()) < 2 and sent < 2000:
            assert get(port, "/__lbheartbeat__")[0] == 200
            sent += 1
        assert len(workers_seen()) == 2 and "1.db" not in workers_seen()
        for _ in range(6):  # whichever worker answers the scrape, it answers the sum
            status, body = get(port, "/__metrics__")
            assert status == 200
            assert requests_counted(samples(body.decode()))[("lbheartbeat", "200")] == sent
    finally:
        process.terminate()
        process.wait(timeout=20)

