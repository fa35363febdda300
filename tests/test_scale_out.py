"""Two waitress processes (pserve) serving one database: PostgreSQL, and a
SQLite file (where each process's writers take turns on their own lock,
and the two processes only on SQLite's BEGIN IMMEDIATE)."""

import collections
import concurrent.futures
import subprocess
import sys

import pytest

from .support import ALICE_TOKEN, BOB_TOKEN, ROOT, call, free_port, new_application, new_instance, wait_for


def write_ini(folder, port, database_url):
    ini = (ROOT / "development.ini").read_text()
    ini = ini.replace("sqlite:///%(here)s/lambda_registry.sqlite", database_url.replace("%", "%%"))
    ini = ini.replace("    dev-token-alice alice\n    dev-token-bob bob", f"    {ALICE_TOKEN} alice\n    {BOB_TOKEN} bob")
    ini = ini.replace("listen = 127.0.0.1:6543", f"listen = 127.0.0.1:{port}")  # 8 threads, as development.ini
    # No count cache (each process must show the other's writes at once), and
    # folds every few writes, so that folds of both processes race the writes.
    ini = ini.replace("[app:main]\n", "[app:main]\nlambda_registry.count_cache_seconds = 0\n"
                      "lambda_registry.count_fold_every = 7\n")
    path = folder / f"process-{port}.ini"
    path.write_text(ini)
    return path


def answers(address):
    try:
        return call(address, "GET", "/__lbheartbeat__", timeout=2)[0] == 200
    except OSError:
        return False


@pytest.fixture
def two_processes(tmp_path, clean_db, database_url):
    processes, addresses = [], []
    for _ in range(2):
        port = free_port()
        ini = write_ini(tmp_path, port, database_url)
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "pyramid.scripts.pserve", str(ini)],
                stdout=subprocess.DEVNULL,
                stderr=open(tmp_path / f"{port}.log", "w"),
            )
        )
        addresses.append(("127.0.0.1", port))
    for address in addresses:
        wait_for(lambda: answers(address), timeout=60, what="pserve answering")
    yield addresses
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def test_two_processes_store_every_accepted_write_exactly_once(two_processes, query, counters_agree):
    uuids = [f"00000000-0000-4000-8000-{n:012x}" for n in range(40)]
    owner_of = {uuid: (ALICE_TOKEN if n % 2 else BOB_TOKEN) for n, uuid in enumerate(uuids)}

    def create(job):
        process, uuid = job
        # Every uuid is created twice by its owner, once through each process, at once.
        status = call(two_processes[process], "POST", "/api/lambda_instances/", owner_of[uuid], new_instance(uuid=uuid, status="2"))[0]
        return uuid, status

    jobs = [(process, uuid) for uuid in uuids for process in (0, 1)]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        created = list(pool.map(create, jobs))
    per_uuid = collections.defaultdict(list)
    for uuid, status in created:
        per_uuid[uuid].append(status)
    assert all(sorted(statuses) == [202, 409] for statuses in per_uuid.values()), per_uuid

    def update(job):
        n, uuid = job
        path = f"/api/lambda_instances/{uuid}/status/"
        return [call(two_processes[(n + k) % 2], "POST", path, owner_of[uuid], {"status": code})[0] for k, code in enumerate(["10", "20", "0"])]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        updated = list(pool.map(update, enumerate(uuids)))
    assert all(statuses == [202, 202, 202] for statuses in updated)

    accepted = len(uuids)
    assert query("SELECT count(*), count(DISTINCT owner || uuid) FROM lambda_instances")[0] == (accepted, accepted)
    assert query("SELECT count(*) FROM lambda_instance_status_changes")[0][0] == accepted * 4
    counters_agree()
    # Each process shows the other's writes (its count cache is off here;
    # the cache's expiry is test_counts_cache's).
    for address in two_processes:
        _, _, count = call(address, "GET", "/api/lambda_instances/count")
        expected = str(accepted)
        assert count["data"] == {"count": expected, "running": expected, "created": expected, "failed": "0"}


def test_racing_creates_updates_and_deletes_of_both_kinds_keep_every_count_exact(two_processes, query, counters_agree):
    """8 client threads per process (as many as its server's), each on its
    own records: create, change status, start, destroy or delete, in both
    kinds, every other request through the other process."""
    clients = 16

    def lifecycle(client):
        token = ALICE_TOKEN if client % 2 else BOB_TOKEN
        at = lambda step: two_processes[(client + step) % 2]  # noqa: E731
        statuses = []
        for n in range(6):
            instance = f"00000000-0000-4000-8000-{client:04x}{n:08x}"
            application = f"00000000-0000-4000-9000-{client:04x}{n:08x}"
            steps = [
                ("POST", "/api/lambda_instances/", new_instance(uuid=instance, status="2")),
                ("POST", f"/api/lambda_instances/{instance}/status/", {"status": "0"}),
                ("POST", "/api/lambda_applications/", new_application(uuid=application, status="1")),
                ("POST", f"/api/lambda_applications/{application}/status", {"status": "0"}),
                ("POST", f"/api/lambda_applications/{application}/increment_started", None),
            ]
            if n % 2:  # half of them go again
                steps += [("DELETE", f"/api/lambda_instances/{instance}", None),
                          ("DELETE", f"/api/lambda_applications/{application}", None)]
            for step, (method, path, body) in enumerate(steps):
                statuses.append(call(at(step), method, path, token, body)[0])
        return statuses

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        answered = [status for statuses in pool.map(lifecycle, range(clients)) for status in statuses]
    assert set(answered) == {202}

    counters_agree()
    kept = clients * 3  # of each kind, per client: 3 of 6 records not deleted
    for address in two_processes:
        assert call(address, "GET", "/api/lambda_instances/count")[2]["data"] == {
            "count": str(kept), "running": str(kept), "created": str(2 * kept), "failed": "0"}
        assert call(address, "GET", "/api/lambda_applications/count")[2]["data"] == {
            "count": str(kept), "running": str(kept), "failed": "0"}
    for token in (ALICE_TOKEN, BOB_TOKEN):
        listed = call(two_processes[0], "GET", "/api/lambda_instances/?limit=1&status=0", token)[2]
        assert listed["pagination"]["count"] == kept // 2
    # The processes folded meanwhile: of the ~380 change rows appended to
    # the instances' counts, few are left beside the totals.
    assert query("SELECT count(*) FROM lambda_instance_count_changes")[0][0] < 60
