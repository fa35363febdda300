"""A Python client generated from the served document with openapi-python-client
(pinned in setup.py's test extra), as an API consumer would make one: the
generator must print no warning, and the client drives a whole lifecycle
of both resources against the app on real waitress, answers parsed into
its models."""

import importlib
import os
import subprocess
import sys

import pytest

from .support import ALICE_TOKEN, BOB_TOKEN, UUID, build_app, served

PACKAGE = "lambda_registry_client"


@pytest.fixture(scope="session")
def client_package(tmp_path_factory):
    """Generate the client once, from the document a running app serves."""
    folder = tmp_path_factory.mktemp("generated")
    app = build_app("sqlite://")
    import webtest

    (folder / "openapi.json").write_text(webtest.TestApp(app).get("/api/openapi.json").text)
    tools = os.path.dirname(sys.executable)  # the generator runs ruff from its PATH
    done = subprocess.run(
        [os.path.join(tools, "openapi-python-client"), "generate", "--path", str(folder / "openapi.json"),
         "--output-path", str(folder / PACKAGE), "--meta", "none"],
        capture_output=True, text=True, timeout=300, cwd=folder,
        env=dict(os.environ, PATH=tools + os.pathsep + os.environ.get("PATH", "")),
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning" not in output.lower() and "error" not in output.lower(), output
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))


def module(package, name):
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_the_client_has_one_function_per_operation_grouped_by_resource(client_package):
    api = importlib.import_module(f"{PACKAGE}.api")
    groups = {name: sorted(f[:-3] for f in os.listdir(os.path.join(api.__path__[0], name)) if not f.startswith("_"))
              for name in os.listdir(api.__path__[0]) if not name.startswith("_")}
    assert groups == {
        "instances": ["count_instances", "count_instances_daily", "create_instance", "delete_instance",
                      "follow_instance_changes",
                      "get_instance", "list_instances", "update_instance", "update_instance_status"],
        "applications": ["count_applications", "create_application", "decrement_application_started",
                         "delete_application", "follow_application_changes", "get_application",
                         "increment_application_started", "list_applications", "update_application",
                         "update_application_status"],
        "users": ["authenticate", "count_users"],
        "operations": ["get_openapi", "get_version", "heartbeat", "lbheartbeat"],
    }


def test_a_whole_lifecycle_through_the_generated_client(client_package, make_app):
    models = module(client_package, "models")
    instances = {name: module(client_package, f"api.instances.{name}") for name in (
        "create_instance", "update_instance_status", "list_instances", "get_instance", "delete_instance", "count_instances")}
    applications = {name: module(client_package, f"api.applications.{name}") for name in (
        "create_application", "update_application_status", "increment_application_started",
        "decrement_application_started", "list_applications", "get_application", "delete_application",
        "count_applications")}
    users = {name: module(client_package, f"api.users.{name}") for name in ("authenticate", "count_users")}

    with served(make_app(), threads=4) as (host, port):
        base_url = f"http://{host}:{port}"
        alice = client_package.AuthenticatedClient(base_url=base_url, token=ALICE_TOKEN, prefix="Token")
        bob = client_package.AuthenticatedClient(base_url=base_url, token=BOB_TOKEN, prefix="Token")
        public = client_package.Client(base_url=base_url)

        who = users["authenticate"].sync(client=alice)
        assert isinstance(who, models.AuthenticatedAnswer) and who.data[0].id == "alice"

        info = models.InstanceCreateInstanceInfoType0.from_dict({"master": "snf-1", "slaves": 2})
        created = instances["create_instance"].sync(client=alice, body=models.InstanceCreate(
            uuid=UUID, name="hadoop", instance_info=info, status=models.InstanceStatus.PENDING))
        assert isinstance(created, models.AcceptedAnswer) and created.data[0].id == UUID
        for status in (models.InstanceStatus.CLUSTER_CREATED, models.InstanceStatus.FLINK_INSTALLED):
            updated = instances["update_instance_status"].sync(
                uuid=UUID, client=alice, body=models.InstanceStatusUpdate(status=status))
            assert isinstance(updated, models.AcceptedAnswer)
        # A status as a number is accepted too.
        instances["update_instance_status"].sync(uuid=UUID, client=alice, body=models.InstanceStatusUpdate(
            status=models.InstanceStatusNumber.STARTED, failure_message="all up"))

        listed = instances["list_instances"].sync(client=alice, limit=10)
        assert isinstance(listed, models.InstanceListAnswer)
        (record,) = listed.data
        assert (record.uuid, record.status, record.status_name, record.failure_message) == (
            UUID, models.InstanceStatus.STARTED, models.InstanceStatusName.STARTED, "all up")
        assert record.instance_info.to_dict() == {"master": "snf-1", "slaves": 2}
        assert (listed.pagination.count, listed.pagination.limit, listed.pagination.next_) == (1, 10, None)

        details = instances["get_instance"].sync(uuid=UUID, client=alice)
        assert isinstance(details, models.InstanceDetailsAnswer)
        assert [entry.status for entry in details.data[0].history] == [
            models.InstanceStatus.PENDING, models.InstanceStatus.CLUSTER_CREATED,
            models.InstanceStatus.FLINK_INSTALLED, models.InstanceStatus.STARTED]
        assert details.data[0].created_at.year >= 2026  # a datetime, parsed

        missing = instances["get_instance"].sync(uuid=UUID, client=bob)
        assert isinstance(missing, models.ErrorAnswer) and missing.status.code == 404
        assert missing.errors[0].name == "uuid"

        counted = instances["count_instances"].sync(client=public)
        assert (counted.data.count, counted.data.running, counted.data.created) == ("1", "1", "1")
        assert isinstance(instances["delete_instance"].sync(uuid=UUID, client=alice), models.AcceptedAnswer)
        assert instances["count_instances"].sync(client=public).data.count == "0"

        applications["create_application"].sync(client=alice, body=models.ApplicationCreate(
            uuid=UUID, name="wordcount.jar", status=models.ApplicationStatus.UPLOADING))
        applications["update_application_status"].sync(uuid=UUID, client=alice, body=models.ApplicationStatusUpdate(
            status=models.ApplicationStatus.UPLOADED))
        for _ in range(3):
            started = applications["increment_application_started"].sync(uuid=UUID, client=alice)
        assert isinstance(started, models.StartedAnswer) and started.data[0].times_started == 3
        assert applications["decrement_application_started"].sync(uuid=UUID, client=alice).data[0].times_started == 2
        (application,) = applications["list_applications"].sync(client=alice).data
        assert (application.name, application.status, application.times_started) == (
            "wordcount.jar", models.ApplicationStatus.UPLOADED, 2)
        history = applications["get_application"].sync(uuid=UUID, client=alice).data[0].history
        assert [entry.status_name for entry in history] == [
            models.ApplicationStatusName.UPLOADING, models.ApplicationStatusName.UPLOADED]
        counts = applications["count_applications"].sync(client=public).data
        assert (counts.count, counts.running, counts.failed) == ("1", "2", "0")
        assert isinstance(applications["delete_application"].sync(uuid=UUID, client=alice), models.AcceptedAnswer)
        gone = applications["get_application"].sync(uuid=UUID, client=alice)
        assert isinstance(gone, models.ErrorAnswer) and gone.status.code == 404

        assert users["count_users"].sync(client=public).data.count == "2"  # bob too: his token was valid
        refused = instances["list_instances"].sync(client=client_package.AuthenticatedClient(
            base_url=base_url, token="nobody", prefix="Token"))
        assert isinstance(refused, models.ErrorAnswer) and refused.status.code == 401


def test_conditional_requests_and_sync_through_the_generated_client(client_package, make_app):
    """The headers and the query parameter of SPEC.md "Conditional requests
    and sync" as the generator made them: keyword arguments, a 304 and a
    412 told apart by their status, ``updated_after`` a ``datetime``."""
    models = module(client_package, "models")
    create = module(client_package, "api.instances.create_instance")
    update = module(client_package, "api.instances.update_instance_status")
    get = module(client_package, "api.instances.get_instance")
    listing = module(client_package, "api.instances.list_instances")
    count = module(client_package, "api.instances.count_instances")
    other = "0c4a5b5e-9d9b-4d6e-8f3b-2f0c7c3c9a11"

    with served(make_app(), threads=4) as (host, port):
        alice = client_package.AuthenticatedClient(base_url=f"http://{host}:{port}", token=ALICE_TOKEN, prefix="Token")
        public = client_package.Client(base_url=f"http://{host}:{port}")
        for uuid in (UUID, other):
            created = create.sync_detailed(client=alice, body=models.InstanceCreate(
                uuid=uuid, name="hadoop", instance_info="", status=models.InstanceStatus.PENDING))
            assert created.status_code == 202 and created.headers["etag"]

        polled = count.sync_detailed(client=public)
        unchanged = count.sync_detailed(client=public, if_none_match=polled.headers["etag"])
        assert (unchanged.status_code, unchanged.content, unchanged.parsed) == (304, b"", None)
        assert unchanged.headers["etag"] == polled.headers["etag"]

        tag = get.sync_detailed(uuid=UUID, client=alice).headers["etag"]
        last_look = get.sync(uuid=other, client=alice).data[0].updated_at  # a datetime: the newest record's
        written = update.sync_detailed(uuid=UUID, client=alice, if_match=tag,
                                       body=models.InstanceStatusUpdate(status=models.InstanceStatus.CLUSTER_CREATED))
        assert written.status_code == 202 and written.headers["etag"] != tag
        refused = update.sync_detailed(uuid=UUID, client=alice, if_match=tag,  # stale now
                                       body=models.InstanceStatusUpdate(status=models.InstanceStatus.CLUSTER_FAILED))
        assert refused.status_code == 412 and isinstance(refused.parsed, models.ErrorAnswer)
        assert refused.parsed.status.short_description == "The specified lambda instance has been changed since."
        assert get.sync_detailed(uuid=UUID, client=alice).headers["etag"] == written.headers["etag"]

        changed = listing.sync(client=alice, updated_after=last_look)
        assert [record.uuid for record in changed.data] == [UUID]
        assert changed.data[0].status == models.InstanceStatus.CLUSTER_CREATED


def test_following_the_changes_feed_through_the_generated_client(client_package, make_app):
    """SPEC.md "Changes" as a generated client sees it: records and
    deletions told apart by their model, the cursor followed, a 410 parsed
    as an error."""
    models = module(client_package, "models")
    create = module(client_package, "api.applications.create_application")
    update = module(client_package, "api.applications.update_application_status")
    delete = module(client_package, "api.applications.delete_application")
    follow = module(client_package, "api.applications.follow_application_changes")
    other = "0c4a5b5e-9d9b-4d6e-8f3b-2f0c7c3c9a11"

    with served(make_app(), threads=4) as (host, port):
        alice = client_package.AuthenticatedClient(base_url=f"http://{host}:{port}", token=ALICE_TOKEN, prefix="Token")
        for uuid in (UUID, other):
            create.sync(client=alice, body=models.ApplicationCreate(
                uuid=uuid, name="wordcount.jar", status=models.ApplicationStatus.UPLOADING))
        first = follow.sync(client=alice, limit=1)
        assert isinstance(first, models.ApplicationChangesAnswer) and first.changes.more is True
        rest = follow.sync(client=alice, since=first.changes.cursor)
        assert [entry.uuid for entry in first.data + rest.data] == [UUID, other]
        assert rest.changes.more is False

        update.sync(uuid=UUID, client=alice, body=models.ApplicationStatusUpdate(status=models.ApplicationStatus.UPLOADED))
        delete.sync(uuid=other, client=alice)
        changed = follow.sync(client=alice, since=rest.changes.cursor, wait=1)
        record, deletion = changed.data
        assert isinstance(record, models.Application) and record.status == models.ApplicationStatus.UPLOADED
        assert isinstance(deletion, models.Deleted) and (deletion.uuid, deletion.deleted) == (other, True)

        nothing = follow.sync(client=alice, since=changed.changes.cursor, wait=0.2)
        assert nothing.data == [] and nothing.changes.cursor == changed.changes.cursor
        too_new = follow.sync_detailed(client=alice, since="999999999999999999.")
        assert too_new.status_code == 410 and isinstance(too_new.parsed, models.ErrorAnswer)
