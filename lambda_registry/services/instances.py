"""The lambda instances of SPEC.md: the shared record operations, plus what
is an instance's own: deleting marks it destroyed (and keeps it), a
destroyed instance cannot change status, and the public count."""

from ..model.kinds import INSTANCES
from ..model.statuses import DESTROYED
from ..web.envelope import error, error_entry, success
from ..web.schemas import component_ref, days_query, status_query
from .record_service import ACCEPTED, RecordService, Texts
from .service import Operation, RegistryService

TEXTS = Texts(
    created="Your request to create a new lambda instance has been accepted.",
    updated="Lambda instances status update accepted.",
    deleted="Your request to destroy the specified lambda instance has been accepted.",
    listed="Lambda instances.",
    details="Lambda instance details.",
    counted="Lambda instances count.",
    not_found="The specified lambda instance doesn't exist.",
    already_created="The specified lambda instance has already been created.",
    changes="Lambda instance changes.",
    changed="The specified lambda instance has been changed since.",
)
ALREADY_DESTROYED = "The specified lambda instance has been destroyed."
PER_DAY = "Lambda instances per day."
DEFAULT_DAYS = 30


class InstanceService(RecordService):
    update_conflicts = True  # a destroyed instance cannot change status

    def __init__(self, components):
        super().__init__(INSTANCES, TEXTS, "/api/lambda_instances", components)
        self.count.add_view("GET", self.count_view, operation=Operation(
            "count_instances", 200, TEXTS.counted, "InstanceCountAnswer", component_ref("InstanceCounts"),
            query=status_query(INSTANCES.statuses), conditional=True))
        self.item.add_view("DELETE", self.destroy_view, operation=Operation(
            "delete_instance", 202, TEXTS.deleted, "AcceptedAnswer", ACCEPTED, token=True, not_found=self.not_found,
            if_match=True, answers_tag=True))
        self.daily = RegistryService("instance_count_daily", "/api/lambda_instances/count/daily", self.kind.plural)
        self.daily.add_view("GET", self.daily_view, operation=Operation(
            "count_instances_daily", 200, PER_DAY, "InstancesPerDayAnswer",
            {"type": "array", "items": component_ref("ActiveOnDay")}, query=days_query(DEFAULT_DAYS),
            conditional=True))

    def services(self):
        return super().services() + [self.daily]

    def refuse_update(self, locked):
        if locked.status == DESTROYED:
            raise error(409, ALREADY_DESTROYED, [error_entry("path", "uuid", "a destroyed instance cannot change status")])

    def destroy(self, request, owner, uuid, uuid_text, if_match=None):
        """Mark the instance destroyed; it stays, with its history. Its new ETag."""

        def work(executor):
            locked = self.locked_or_404(executor, owner, uuid, uuid_text, if_match)
            if locked.status == DESTROYED:
                # Already destroyed answers as the seed's service did: not found.
                raise self.not_found(uuid_text)
            updated = self.store.change_status(executor, owner, locked, DESTROYED, "")
            return self.tag(owner, uuid, locked.created_at, updated)

        return self.write(request, owner, work)

    def destroy_view(self, request):
        tag = self.destroy(request, self.caller(request), *self.uuid_of(request), self.if_match(request))
        return self.accepted(TEXTS.deleted, request.validated["uuid"], tag)

    def daily_view(self, request):
        series = self.counts.active_instances_by_day(request, request.validated["days"])
        return success(200, PER_DAY, [{"date": day.isoformat(), "active": str(active)} for day, active in series])

    def count_view(self, request):
        counts = self.counts.instances(request, request.validated["status"])
        # Strings, as the original API gave the count.
        return success(200, TEXTS.counted, {key: str(value) for key, value in counts.items()})
