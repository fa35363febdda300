"""The lambda applications API of SPEC.md: the shared record endpoints, plus
what is an application's own: deleting removes it and its history, two
body-less counters of how many times it was started, and its public count."""

from ..auth import require_owner
from ..web.envelope import error, error_entry, success
from ..web.openapi import Answer
from ..web.schemas import component_ref
from ..model.kinds import APPLICATIONS, utcnow
from ..model.statuses import APPLICATION_FAILED, UPLOADED
from ..web.validation import no_body_expected
from . import RegistryService
from .record_endpoints import ACCEPTED, RecordApi, Texts

# SPEC.md's words, in the order of Texts' fields.
TEXTS = Texts(
    "Your request to create the specified application has been accepted.", "Lambda application status update accepted.",
    "Your request to delete the specified application has been accepted.", "Lambda applications.",
    "Lambda application details.", "Lambda applications count.", "The specified application doesn't exist.",
    "The specified lambda application has already been created.",
)
INCREMENTED = "Your request to increment the times started of the specified application has been accepted."
DECREMENTED = "Your request to decrement the times started of the specified application has been accepted."
AT_ZERO = "Can't decrement started times counter for the specified application, the counter is already 0."


def public_counts(counters):
    """count: uploaded applications; running: the sum of their times started; failed."""
    records = {status: values[0] for status, values in counters.items()}
    return {
        "count": records.get(UPLOADED, 0),
        "running": counters.get(UPLOADED, (0, 0))[1],
        "failed": records.get(APPLICATION_FAILED, 0),
    }


STARTED = {"type": "array", "minItems": 1, "maxItems": 1, "items": component_ref("AcceptedStarted")}


class ApplicationApi(RecordApi):
    more_links_from_create = {"IncrementApplicationStarted": ("increment_application_started", "$request.body#/uuid")}

    def __init__(self, registry):
        super().__init__(APPLICATIONS, TEXTS, "/api/lambda_applications", registry)
        self.count.add_view(
            "GET", self.count_applications,
            answer=Answer("count_applications", 200, TEXTS.counted, "ApplicationCountAnswer",
                          component_ref("ApplicationCounts")),
        )
        self.item.add_view(
            "DELETE", self.delete, validators=(require_owner, self.uuid),
            answer=Answer("delete_application", 202, TEXTS.deleted, "AcceptedAnswer", ACCEPTED),
        )
        self.increment = self._started_service("increment", +1, INCREMENTED, links={
            "DecrementApplicationStarted": ("decrement_application_started", "$request.path.uuid")})
        self.decrement = self._started_service("decrement", -1, DECREMENTED)

    def services(self):
        return super().services() + [self.increment, self.decrement]

    def _started_service(self, verb, delta, description, links=None):
        service = RegistryService(f"application_{verb}", f"/api/lambda_applications/{{uuid}}/{verb}_started", "applications")

        def change_started(request):
            return self.change_times_started(request, delta, description)

        service.add_view("POST", change_started, validators=(no_body_expected, require_owner, self.uuid),
                         answer=Answer(f"{verb}_application_started", 202, description, "StartedAnswer", STARTED,
                                       conflicts=delta < 0, links=links or {}))
        return service

    def delete(self, request):
        """Remove the application and its history; its uuid may be registered again."""
        owner = request.validated["owner"]

        def work(db):
            self.store.delete(db, owner, self.locked_or_404(db, request))
            self.forget_counts_after(db)

        self.database.write(request, work)
        return self.accepted(TEXTS.deleted, request.validated["uuid"])

    def change_times_started(self, request, delta, description):
        """Concurrent changes never lose one: each locks the record first."""
        owner, now = request.validated["owner"], utcnow()

        def work(db):
            locked = self.locked_or_404(db, request)
            if locked.times_started + delta < 0:
                raise error(409, AT_ZERO, [error_entry("path", "uuid", "times started is already 0")])
            value = self.store.add_to(db, owner, locked, "times_started", delta, now)
            self.forget_counts_after(db)
            return value

        times_started = self.database.write(request, work)
        return self.accepted(description, request.validated["uuid"], times_started=times_started)

    def figures(self, request):
        """The public count's figures, as numbers (the landing page shows them too)."""
        return public_counts(self.public_counters(request))

    def count_applications(self, request):
        return success(200, TEXTS.counted, {key: str(value) for key, value in self.figures(request).items()})
