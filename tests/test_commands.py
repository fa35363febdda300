"""The console scripts as an operator types them (real subprocesses): what
they say they did, their version, and one line with a non-zero exit code,
never a traceback, when the database or the configuration fails them."""

import os
import subprocess
import sys

import pytest

from lambda_registry.scripts import VERSION
from lambda_registry.storage.migrate import newest_revision, upgrade

from .support import ROOT

BIN = os.path.dirname(sys.executable)
NEWEST = newest_revision("sqlite://")


def command(*arguments, database_url=None, shell=False):
    environment = dict(os.environ)
    environment.pop("LAMBDA_REGISTRY_DATABASE_URL", None)
    if database_url:
        environment["LAMBDA_REGISTRY_DATABASE_URL"] = database_url
    if shell:
        return subprocess.run(["sh", "-c", arguments[0]], capture_output=True, text=True, timeout=120,
                              env=environment, cwd=ROOT)
    program, *rest = arguments
    return subprocess.run([os.path.join(BIN, program), *rest], capture_output=True, text=True, timeout=120,
                          env=environment, cwd=ROOT)


def one_line_error(done, code):
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize("program", ["initialize_lambda_registry_db", "lambda_registry"])
def test_both_commands_say_their_version(program):
    done = command(program, "--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"{program} {VERSION}")


@pytest.mark.parametrize("program, arguments", [
    ("initialize_lambda_registry_db", []), ("lambda_registry", ["list", "alice"])])
def test_production_ini_without_its_database_variable_is_one_line(program, arguments):
    line = one_line_error(command(program, "production.ini", *arguments), 1)
    assert line.startswith(f"{program}: cannot use the database postgresql+psycopg://lambda_registry@database.invalid")
    assert "database.invalid" in line.split(": ", 2)[2]  # the cause, in the driver's words


def test_a_missing_ini_file_is_one_line():
    line = one_line_error(command("initialize_lambda_registry_db", "nowhere.ini"), 2)
    assert "nowhere.ini" in line


def test_the_init_command_says_what_it_created_and_upgraded(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    created = command("initialize_lambda_registry_db", "production.ini", database_url=url)
    assert created.returncode == 0 and f"created the schema at revision {NEWEST}" in created.stdout
    again = command("initialize_lambda_registry_db", "production.ini", database_url=url)
    assert f"already at revision {NEWEST}" in again.stdout
    old = f"sqlite:///{tmp_path / 'old.sqlite'}"
    upgrade(old, "0006")
    upgraded = command("initialize_lambda_registry_db", "production.ini", database_url=old)
    assert f"upgraded the schema from revision 0006 to {NEWEST}" in upgraded.stdout


def test_a_reader_that_stops_early_is_no_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'records.sqlite'}"
    upgrade(url)
    import webtest

    from .support import ALICE, build_app, dispose, new_instance
    app = build_app(url)
    testapp = webtest.TestApp(app)
    for n in range(300):
        testapp.post_json("/api/lambda_instances/", new_instance(uuid=f"00000000-0000-4000-8000-{n:012x}"),
                          headers=ALICE)
    dispose(app)
    done = command(f"{BIN}/lambda_registry production.ini export alice | head -n 1", database_url=url, shell=True)
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_make_serve_takes_a_port_and_pserve_serves_on_it(tmp_path):
    """`make serve PORT=…` runs pserve on development.ini's second server with
    that port (the recipe, as make would run it, then its pserve for real on
    a scratch copy of the ini)."""
    from .support import free_port, wait_for
    from .test_scale_out import answers

    def recipe(*arguments):
        # (Run by `make test`, make would also print the directories it enters.)
        done = subprocess.run(["make", "--no-print-directory", "-n", "serve", *arguments], capture_output=True,
                              text=True, cwd=ROOT, timeout=60)
        return [line for line in done.stdout.splitlines() if "pserve" in line][-1]

    port = free_port()
    assert recipe(f"PORT={port}").endswith(f"pserve --server-name port development.ini http_port={port}")
    assert recipe().endswith("pserve development.ini")
    ini = tmp_path / "development.ini"
    ini.write_text((ROOT / "development.ini").read_text())
    upgrade(f"sqlite:///{tmp_path / 'lambda_registry.sqlite'}")
    server = subprocess.Popen([os.path.join(BIN, "pserve"), "--server-name", "port", str(ini), f"http_port={port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: answers(("127.0.0.1", port)), timeout=60, what="pserve on the asked port")
    finally:
        server.terminate()
        server.wait(10)
