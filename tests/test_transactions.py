"""Standalone, the registry is transaction-managed as embedded: pyramid_tm's
tween runs every write inside ``request.tm`` (a manager of the request's
own), and leaves reads outside it (``tm.activate_hook``)."""

from pyramid_tm import is_tm_active
import transaction
import webtest

from .support import ALICE, UUID, assert_envelope, new_instance

SEEN = []


class RecordingPolicy:
    """Alice's policy, noting how each request it is asked about is managed."""

    def authenticated_userid(self, request):
        manager = request.tm if is_tm_active(request) else None
        SEEN.append((request.method, manager is not None and manager is not transaction.manager,
                     manager is not None and manager.explicit))
        return "alice"


def recording_policy_factory(registry):
    return RecordingPolicy()


def test_standalone_writes_run_in_the_requests_own_transaction_and_reads_outside_any(make_app, query):
    SEEN.clear()
    app = webtest.TestApp(make_app(**{"lambda_registry.auth": "tests.test_transactions:recording_policy_factory"}))
    assert_envelope(app.post_json("/api/lambda_instances/", new_instance(), headers=ALICE, status=202), 202)
    assert_envelope(app.get(f"/api/lambda_instances/{UUID}", headers=ALICE, status=200), 200)
    assert_envelope(app.post_json(f"/api/lambda_instances/{UUID}/status", {"status": "0"}, headers=ALICE,
                                  status=202), 202)
    # (method, in a transaction manager of the request's own, explicit)
    assert SEEN == [("POST", True, True), ("GET", False, False), ("POST", True, True)]
    assert query("SELECT count(*) FROM lambda_instance_status_changes")[0][0] == 2
