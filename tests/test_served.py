"""The seed document's curl examples, byte for byte, against real waitress,
and the console script that builds the schema."""

import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from .support import ALICE_TOKEN, ROOT, call, served

SEED_UUID = "24b8a635-8d71-4016-b8f5-c4a14348ed8f"


@pytest.fixture
def server(make_app):
    with served(make_app(), threads=4) as address:
        yield address


def seed_headers(token=True):
    # curl -H "Authorization:Token …" sends no space after the colon;
    # http.client sends "Name: value", so the value carries the form exactly.
    headers = [("Content-Type", "application/json")]
    if token:
        headers.append(("Authorization", "Token " + ALICE_TOKEN))
    return headers


def test_the_seed_examples_answer_as_the_spec_says(server):
    create = '{"uuid": "24b8a635-8d71-4016-b8f5-c4a14348ed8f", "name": "My frist Lambda instance", "instance_info": "", "status": "20", "failure_message": "OK"}'
    status, headers, body = call(server, "POST", "/api/lambda_instances/", headers=seed_headers(), raw_body=create.encode())
    assert status == 202
    assert body == {
        "status": {"short_description": "Your request to create a new lambda instance has been accepted.", "code": 202},
        "data": [{"id": SEED_UUID}],
    }
    assert headers["Location"].endswith(f"/api/lambda_instances/{SEED_UUID}")

    update = '{"status": "20", "failure_message": "OK"}'
    status, _, body = call(server, "POST", f"/api/lambda_instances/{SEED_UUID}", headers=seed_headers(), raw_body=update.encode())
    assert (status, body) == (
        202,
        {"status": {"short_description": "Lambda instances status update accepted.", "code": 202}, "data": [{"id": SEED_UUID}]},
    )

    status, _, body = call(server, "GET", "/api/lambda_instances/", headers=seed_headers())
    assert status == 200
    assert body["status"] == {"short_description": "Lambda instances.", "code": 200}
    assert [record["uuid"] for record in body["data"]] == [SEED_UUID]

    # The seed's count example says DELETE: the count answers GET only.
    status, headers, body = call(server, "DELETE", "/api/lambda_instances/count", headers=seed_headers(token=False))
    assert status == 405 and "GET" in headers["Allow"]
    status, _, body = call(server, "GET", "/api/lambda_instances/count", headers=seed_headers(token=False))
    assert (status, body["data"]["count"]) == (200, "1")

    status, _, body = call(server, "DELETE", f"/api/lambda_instances/{SEED_UUID}", headers=seed_headers())
    assert (status, body) == (
        202,
        {
            "status": {"short_description": "Your request to destroy the specified lambda instance has been accepted.", "code": 202},
            "data": [{"id": SEED_UUID}],
        },
    )
    status, _, body = call(server, "GET", "/api/lambda_instances/count", headers=[])
    assert body["data"] == {"count": "0", "running": "0", "created": "1", "failed": "0"}


def test_chunked_body_over_the_limit_is_413_on_waitress(server):
    chunks = (b'{"name": "' + b"x" * 8192 for _ in range(10))
    status, _, body = call(server, "POST", "/api/lambda_instances/", ALICE_TOKEN, raw_body=chunks,
                           headers=[("Content-Type", "application/json")])
    assert status == 413 and body["status"]["code"] == 413


def test_initialize_script_builds_the_schema_twice_harmlessly(tmp_path):
    database = tmp_path / "fresh.sqlite"
    ini = tmp_path / "fresh.ini"
    ini.write_text((ROOT / "development.ini").read_text().replace("%(here)s/lambda_registry.sqlite", str(database)))
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "lambda_registry.scripts.initialize_db", str(ini)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        tables = {row[0] for row in connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
        counters = connection.execute(text("SELECT count(*) FROM lambda_instance_status_counts")).scalar()
    assert {"lambda_instances", "lambda_instance_status_changes", "lambda_instance_status_counts"} <= tables
    assert counters == 24
