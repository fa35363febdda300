"""The service VM's calls, verbatim (shared/seed/service_vm_calls.md), with
``requests`` against the app on real waitress: a user logs in, two clusters
are built (one is destroyed, one fails), two applications are uploaded (one
is started and stopped, one fails and is deleted). Then every list,
details, history and count is checked."""

import json

import pytest
import requests

from .support import ALICE_TOKEN, served

INSTANCE_A = "6f9a7e1c-3b2d-4c8e-9f10-2a3b4c5d6e7f"
INSTANCE_B = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
APP_X = "c0ffee00-1111-4222-8333-444455556666"
APP_Y = "deadbeef-7777-4888-9999-aaaabbbbcccc"


class ServiceVM:
    """Sends what the service VM sends, exactly; like it, never reads an answer
    it does not have to (the test reads the statuses to check them)."""

    def __init__(self, address, token):
        self.base = f"http://{address[0]}:{address[1]}/api"
        self.auth = {"Authorization": f"Token {token}"}
        self.json = dict(self.auth, **{"Content-Type": "application/json"})
        self.session = requests.Session()

    def _post(self, path, body):
        return self.session.post(f"{self.base}{path}", headers=self.json, data=json.dumps(body)).status_code

    def _delete(self, path):
        # With a Content-Type and no body, as the service VM sends it.
        return self.session.delete(f"{self.base}{path}", headers=self.json).status_code

    def login(self):
        return self.session.get(f"{self.base}/authenticate/", headers=self.auth).status_code

    def create_instance(self, uuid, name, info):
        # instance_info as a JSON-encoded string, status as a string.
        return self._post("/lambda_instances/", {"uuid": uuid, "name": name, "instance_info": json.dumps(info),
                                                 "status": "2", "failure_message": ""})

    def instance_status(self, uuid, code, message=""):
        return self._post(f"/lambda_instances/{uuid}/status/", {"status": code, "failure_message": message})

    def destroy_instance(self, uuid):
        return self._delete(f"/lambda_instances/{uuid}/")

    def create_application(self, uuid, name, description):
        return self._post("/lambda_applications/", {"uuid": uuid, "name": name, "description": description,
                                                    "status": "1", "failure_message": ""})

    def application_status(self, uuid, code, message=""):
        return self._post(f"/lambda_applications/{uuid}/status/", {"status": code, "failure_message": message})

    def delete_application(self, uuid):
        return self._delete(f"/lambda_applications/{uuid}/")

    def started(self, uuid, verb):
        # No body and no Content-Type, as the service VM sends them.
        return self.session.post(f"{self.base}/lambda_applications/{uuid}/{verb}_started/", headers=self.auth).status_code


@pytest.fixture
def live(make_app):
    with served(make_app(), threads=4) as address:
        yield address


def test_a_service_vm_lifecycle_is_stored_exactly(live, query, counters_agree):
    vm = ServiceVM(live, ALICE_TOKEN)
    built = ["10", "12", "14", "16", "18", "20", "22", "0"]
    calls = [vm.login()]
    calls.append(vm.create_instance(INSTANCE_A, "hadoop-and-flink", {"master": "snf-1", "slaves": 3, "vcpus": 4}))
    calls += [vm.instance_status(INSTANCE_A, code) for code in built]
    calls += [vm.instance_status(INSTANCE_A, "1"), vm.instance_status(INSTANCE_A, "0"), vm.instance_status(INSTANCE_A, "5")]
    calls.append(vm.destroy_instance(INSTANCE_A))
    calls.append(vm.create_instance(INSTANCE_B, "kafka-only", {"master": "snf-2", "slaves": 1}))
    calls += [vm.instance_status(INSTANCE_B, "10"), vm.instance_status(INSTANCE_B, "12")]
    calls.append(vm.instance_status(INSTANCE_B, "13", "SSH connection timed out."))
    calls.append(vm.create_application(APP_X, "wordcount.jar", "Counts words in HDFS files."))
    calls.append(vm.application_status(APP_X, "0"))
    calls += [vm.started(APP_X, "increment") for _ in range(3)] + [vm.started(APP_X, "decrement")]
    calls.append(vm.create_application(APP_Y, "broken.jar", ""))
    calls.append(vm.application_status(APP_Y, "2", "The upload was interrupted."))
    calls.append(vm.delete_application(APP_Y))
    assert calls == [200] + [202] * (len(calls) - 1)

    def get(path, token=True):
        response = requests.get(f"{vm.base}{path}", headers=vm.auth if token else {})
        assert response.status_code == 200, response.text
        return response.json()["data"]

    instances = {record["uuid"]: record for record in get("/lambda_instances/")}
    assert {uuid: (r["status"], r["status_name"]) for uuid, r in instances.items()} == {
        INSTANCE_A: ("6", "DESTROYED"), INSTANCE_B: ("13", "INIT_FAILED")}
    assert instances[INSTANCE_A]["instance_info"] == {"master": "snf-1", "slaves": 3, "vcpus": 4}
    assert instances[INSTANCE_B]["failure_message"] == "SSH connection timed out."
    history = get(f"/lambda_instances/{INSTANCE_A}")[0]["history"]
    assert [entry["status"] for entry in history] == ["2"] + built + ["1", "0", "5", "6"]
    history = get(f"/lambda_instances/{INSTANCE_B}/")[0]["history"]
    assert [(entry["status"], entry["failure_message"]) for entry in history] == [
        ("2", ""), ("10", ""), ("12", ""), ("13", "SSH connection timed out.")]

    applications = get("/lambda_applications/")
    assert [(r["uuid"], r["status_name"], r["times_started"]) for r in applications] == [(APP_X, "UPLOADED", 2)]
    assert [entry["status"] for entry in get(f"/lambda_applications/{APP_X}")[0]["history"]] == ["1", "0"]
    assert requests.get(f"{vm.base}/lambda_applications/{APP_Y}/", headers=vm.auth).status_code == 404

    # What the public landing page polls, with and without a slash.
    assert get("/lambda_instances/count/", token=False) == {"count": "0", "running": "0", "created": "2", "failed": "1"}
    assert get("/lambda_applications/count", token=False) == {"count": "1", "running": "2", "failed": "0"}
    assert get("/users/count/", token=False) == {"count": "1"}
    assert query("SELECT count(*) FROM lambda_application_status_changes")[0][0] == 2  # APP_Y's went with it
    counters_agree()
