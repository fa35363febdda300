"""SPEC.md "Metrics and request ids": X-Request-ID on every answer of ours,
and in every log line written while serving the request."""

import configparser
import logging
import re
import subprocess
import sys

import pytest

from lambda_registry.logs import REQUEST_ID, RequestIdFilter, RequestIdFormatter

from .support import ALICE, ALICE_TOKEN, ROOT, UUID, call, free_port, new_instance, token_headers, wait_for
from .test_scale_out import answers, write_ini

APP_MODES = ("standalone", "embedded")
GENERATED = re.compile(r"[0-9a-f]{32}\Z")


class Captured(logging.Handler):
    """The records of the lambda_registry loggers, each with its request_id (the filter's)."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.addFilter(RequestIdFilter())
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def captured():
    handler = Captured()
    logger = logging.getLogger("lambda_registry")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


@pytest.mark.parametrize("given", ["trace-0001", "a.B_c-9", "x" * 64])
def test_an_acceptable_id_is_echoed(testapp, given):
    response = testapp.get("/api/lambda_instances/", headers=dict(ALICE, **{"X-Request-ID": given}))
    assert response.headers["X-Request-ID"] == given


@pytest.mark.parametrize("given", ["", "x" * 65, "has space", "semi;colon", "quote\"", "ünïcode", "a/b"])
def test_an_unacceptable_id_is_replaced_by_a_new_one(testapp, given):
    response = testapp.get("/api/lambda_instances/count", headers={"X-Request-ID": given.encode().decode("latin-1")})
    assert GENERATED.match(response.headers["X-Request-ID"])


def test_every_kind_of_answer_carries_one_and_each_is_new(testapp):
    answers = [
        testapp.get("/api/lambda_instances/count"),
        testapp.get("/api/lambda_instances/", status=401),
        testapp.post_json("/api/lambda_instances/", new_instance(uuid="bad"), headers=ALICE, status=400),
        testapp.get(f"/api/lambda_instances/{UUID}", headers=ALICE, status=404),
        testapp.get("/api/no/such/thing", status=404),
        testapp.request("/api/lambda_instances/count", method="PUT", status=405),
        testapp.options("/api/lambda_instances/count",
                        headers={"Origin": "https://x.example", "Access-Control-Request-Method": "GET"}),
        testapp.get("/__lbheartbeat__"),
        testapp.get("/__version__"),
        testapp.get("/api/openapi.json"),
    ]
    ids = [answer.headers["X-Request-ID"] for answer in answers]
    assert all(GENERATED.match(value) for value in ids)
    assert len(set(ids)) == len(ids)


def test_the_pages_carry_one_too(app):
    import webtest

    pages = webtest.TestApp(app)
    for path in ("/", "/api/docs", "/api/assets/landing.js"):
        assert GENERATED.match(pages.get(path).headers["X-Request-ID"]), path


def test_a_hosts_own_pages_get_none(embedded_app):
    import webtest

    assert "X-Request-ID" not in webtest.TestApp(embedded_app).get("/host/home").headers


def test_log_lines_of_a_request_name_its_id(make_okeanos_app, fake, captured):
    import webtest

    app = webtest.TestApp(make_okeanos_app())
    fake.fail_status = 500  # the policy logs a warning while serving
    response = app.get("/api/lambda_instances/", headers=dict(token_headers("okeanos-token-carol-6f1d"),
                                                              **{"X-Request-ID": "proxy-id-42"}), status=503)
    assert response.headers["X-Request-ID"] == "proxy-id-42"
    logged = [record for record in captured.records if "identity service unavailable" in record.getMessage()]
    assert [record.request_id for record in logged] == ["proxy-id-42"]
    # Once the request is over, a line belongs to no request.
    logging.getLogger("lambda_registry.test").warning("after the request")
    assert captured.records[-1].request_id == "-" and REQUEST_ID.get() == "-"


def test_the_ini_files_format_the_id_into_every_line():
    for name in ("development.ini", "production.ini"):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(ROOT / name)
        section = parser["formatter_generic"]
        assert section["class"] == "lambda_registry.logs.RequestIdFormatter", name
        formatter = RequestIdFormatter(section["format"])
        record = logging.LogRecord("lambda_registry", logging.INFO, __file__, 1, "a line", None, None)
        assert formatter.format(record).endswith("[-] a line")
        token = REQUEST_ID.set("r-1")
        try:
            record = logging.LogRecord("lambda_registry", logging.INFO, __file__, 1, "a line", None, None)
            assert formatter.format(record).endswith("[r-1] a line")
        finally:
            REQUEST_ID.reset(token)


def test_pserve_writes_the_id_in_every_line_of_the_request_and_names_its_database(tmp_path, database_url, clean_db):
    """development.ini's own logging, through pserve: with every SQL statement
    logged (lambda_registry.sql at DEBUG), each line written while the request
    is served names its id; the start names the database, never a password."""
    port = free_port()
    ini = write_ini(tmp_path, port, database_url)
    text = ini.read_text()
    text = text.replace("[logger_lambda_registry_sql]\nlevel = INFO", "[logger_lambda_registry_sql]\nlevel = DEBUG")
    ini.write_text(text)
    log = tmp_path / "pserve.log"
    process = subprocess.Popen([sys.executable, "-m", "pyramid.scripts.pserve", str(ini)],
                               stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    try:
        wait_for(lambda: answers(("127.0.0.1", port)), timeout=60, what="pserve answering")
        status, headers, _ = call(("127.0.0.1", port), "POST", "/api/lambda_instances/", ALICE_TOKEN, new_instance(),
                                  headers=[("X-Request-ID", "follow-me-7")])
        # waitress writes header names its own way ("X-Request-Id").
        assert status == 202 and {name.lower(): value for name, value in headers.items()}["x-request-id"] == "follow-me-7"
        wait_for(lambda: "follow-me-7" in log.read_text(), what="the request's lines")
    finally:
        process.terminate()
        process.wait(timeout=10)
    lines = log.read_text().splitlines()
    statements = [line for line in lines if "[lambda_registry.sql:" in line and "INSERT INTO lambda_instances" in line]
    assert statements and all("[follow-me-7]" in line for line in statements)
    started = [line for line in lines if "serves the database" in line]
    assert len(started) == 1 and "[-]" in started[0]
    expected = database_url.split("://", 1)[1].split("@")[-1]
    assert expected in started[0]


def test_the_start_line_never_shows_a_password(make_app, captured):
    make_app(**{"sqlalchemy.url": f"postgresql://registry:s3cret-pw@127.0.0.1:{free_port()}/lambda"})
    (line,) = [record.getMessage() for record in captured.records if "serves the database" in record.getMessage()]
    assert "s3cret-pw" not in line
    assert line.endswith(f"postgresql+psycopg://registry:***@127.0.0.1:{line.rsplit(':', 1)[1]}")
