"""The lambda instances API of SPEC.md: the shared record endpoints, plus
what is an instance's own: deleting marks it destroyed (and keeps it), a
destroyed instance cannot change status, and the public count."""

from ..auth import require_owner
from ..web.envelope import error, error_entry, success
from ..web.openapi import Answer
from ..model.kinds import INSTANCES, utcnow
from ..web.schemas import component_ref, status_query
from ..model.statuses import ACTIVE_CODES, DESTROYED, FAILED_CODES, RUNNING
from ..web.validation import query_validator
from .record_endpoints import ACCEPTED, RecordApi, Texts

# SPEC.md's words, in the order of Texts' fields.
TEXTS = Texts(
    "Your request to create a new lambda instance has been accepted.", "Lambda instances status update accepted.",
    "Your request to destroy the specified lambda instance has been accepted.", "Lambda instances.",
    "Lambda instance details.", "Lambda instances count.", "The specified lambda instance doesn't exist.",
    "The specified lambda instance has already been created.",
)
ALREADY_DESTROYED = "The specified lambda instance has been destroyed."
COUNT_KEYS = ("count", "running", "created", "failed")


def public_counts(counters, statuses=None):
    """The four figures of the public count, from {status: (records,)}."""
    records = {status: values[0] for status, values in counters.items()}
    counted = ACTIVE_CODES if statuses is None else statuses
    return {
        "count": sum(records.get(code, 0) for code in counted),
        "running": records.get(RUNNING, 0),
        "created": sum(records.values()),
        "failed": sum(records.get(code, 0) for code in FAILED_CODES),
    }


class InstanceApi(RecordApi):
    update_conflicts = True  # a destroyed instance cannot change status

    def __init__(self, registry):
        super().__init__(INSTANCES, TEXTS, "/api/lambda_instances", registry)
        self.count.add_view(
            "GET", self.count_instances, validators=(query_validator(status_query(INSTANCES.statuses)),),
            answer=Answer("count_instances", 200, TEXTS.counted, "InstanceCountAnswer", component_ref("InstanceCounts")),
        )
        self.item.add_view(
            "DELETE", self.destroy, validators=(require_owner, self.uuid),
            answer=Answer("delete_instance", 202, TEXTS.deleted, "AcceptedAnswer", ACCEPTED),
        )

    def refuse_update(self, locked, request):
        if locked.status == DESTROYED:
            raise error(409, ALREADY_DESTROYED, [error_entry("path", "uuid", "a destroyed instance cannot change status")])

    def destroy(self, request):
        """Mark the instance destroyed; it stays, with its history."""
        owner, now = request.validated["owner"], utcnow()

        def work(db):
            locked = self.locked_or_404(db, request)
            if locked.status == DESTROYED:
                # Already destroyed answers as the seed's service did: not found.
                raise self.not_found(request.matchdict["uuid"])
            self.store.change_status(db, owner, locked, DESTROYED, "", now)
            self.forget_counts_after(db)

        self.database.write(request, work)
        return self.accepted(TEXTS.deleted, request.validated["uuid"])

    def figures(self, request, statuses=None):
        """The public count's figures, as numbers (the landing page shows them too)."""
        return public_counts(self.public_counters(request), statuses)

    def count_instances(self, request):
        counts = self.figures(request, request.validated["status"])
        # Strings, as the original API gave the count.
        return success(200, TEXTS.counted, {key: str(value) for key, value in counts.items()})
