"""The lambda applications of SPEC.md: the shared record operations, plus
what is an application's own: deleting removes it and its history, two
body-less counters of how many times it was started, and its public count."""

from ..model.kinds import APPLICATIONS
from ..web.envelope import error, error_entry, success
from ..web.schemas import component_ref
from .record_service import ACCEPTED, RecordService, Texts
from .service import Operation, RegistryService

TEXTS = Texts(
    created="Your request to create the specified application has been accepted.",
    updated="Lambda application status update accepted.",
    deleted="Your request to delete the specified application has been accepted.",
    listed="Lambda applications.",
    details="Lambda application details.",
    counted="Lambda applications count.",
    not_found="The specified application doesn't exist.",
    already_created="The specified lambda application has already been created.",
    changes="Lambda application changes.",
    changed="The specified lambda application has been changed since.",
)
INCREMENTED = "Your request to increment the times started of the specified application has been accepted."
DECREMENTED = "Your request to decrement the times started of the specified application has been accepted."
AT_ZERO = "Can't decrement started times counter for the specified application, the counter is already 0."

STARTED = {"type": "array", "minItems": 1, "maxItems": 1, "items": component_ref("AcceptedStarted")}


class ApplicationService(RecordService):
    more_links_from_create = {"IncrementApplicationStarted": ("increment_application_started", "$request.body#/uuid")}

    def __init__(self, components):
        super().__init__(APPLICATIONS, TEXTS, "/api/lambda_applications", components)
        self.count.add_view("GET", self.count_view, operation=Operation(
            "count_applications", 200, TEXTS.counted, "ApplicationCountAnswer", component_ref("ApplicationCounts"),
            conditional=True))
        self.item.add_view("DELETE", self.delete_view, operation=Operation(
            "delete_application", 202, TEXTS.deleted, "AcceptedAnswer", ACCEPTED, token=True,
            not_found=self.not_found, if_match=True))
        self.increment = self._started_service("increment", +1, INCREMENTED, links={
            "DecrementApplicationStarted": ("decrement_application_started", "$request.path.uuid")})
        self.decrement = self._started_service("decrement", -1, DECREMENTED)

    def services(self):
        return super().services() + [self.increment, self.decrement]

    def _started_service(self, verb, delta, description, links=None):
        service = RegistryService(f"application_{verb}", f"/api/lambda_applications/{{uuid}}/{verb}_started",
                                  "applications")

        def change_started(request):
            times_started, tag = self.change_times_started(request, self.caller(request), *self.uuid_of(request),
                                                           delta, self.if_match(request))
            return self.accepted(description, request.validated["uuid"], tag, times_started=times_started)

        service.add_view("POST", change_started, operation=Operation(
            f"{verb}_application_started", 202, description, "StartedAnswer", STARTED, token=True, no_body=True,
            not_found=self.not_found, conflicts=delta < 0, links=links or {}, if_match=True, answers_tag=True))
        return service

    def delete(self, request, owner, uuid, uuid_text, if_match=None):
        """Remove the application and its history; its uuid may be registered again."""

        def work(executor):
            self.store.delete(executor, owner, self.locked_or_404(executor, owner, uuid, uuid_text, if_match))

        self.write(request, owner, work)

    def change_times_started(self, request, owner, uuid, uuid_text, delta, if_match=None):
        """(the new times started, the new ETag). Concurrent changes never
        lose one: each locks the record first."""

        def work(executor):
            locked = self.locked_or_404(executor, owner, uuid, uuid_text, if_match)
            if locked.times_started + delta < 0:
                raise error(409, AT_ZERO, [error_entry("path", "uuid", "times started is already 0")])
            row = self.store.add_to(executor, owner, locked, "times_started", delta)
            return row.times_started, self.tag(owner, uuid, locked.created_at, row.updated_at)

        return self.write(request, owner, work)

    def delete_view(self, request):
        # Gone: no ETag to answer.
        self.delete(request, self.caller(request), *self.uuid_of(request), self.if_match(request))
        return self.accepted(TEXTS.deleted, request.validated["uuid"])

    def count_view(self, request):
        figures = self.counts.applications(request)
        return success(200, TEXTS.counted, {key: str(value) for key, value in figures.items()})
