"""What the endpoints of every kind of record share: create, status update,
list and details, with their validation, history, counters and pagination.

A kind's own module (``instances.py``, ``applications.py``) adds what is
its own: how it is deleted, what its count reports, its extra endpoints.
"""

import dataclasses
from urllib.parse import urlencode

from ..auth import require_owner
from ..storage import get_database
from ..web.envelope import error, error_entry, success
from ..web.openapi import Answer
from ..model.kinds import utcnow
from ..web.schemas import body_schema, component_ref, list_query
from ..settings import get_settings
from ..storage.record_store import RecordStore
from ..web.validation import body_validator, json_body_expected, query_validator, uuid_in_path
from . import RegistryService


@dataclasses.dataclass(frozen=True)
class Texts:
    """The short descriptions of a kind's answers (SPEC.md's words)."""

    created: str
    updated: str
    deleted: str
    listed: str
    details: str
    counted: str
    not_found: str
    already_created: str


# What every write answers in ``data``: the uuid written.
ACCEPTED = {"type": "array", "minItems": 1, "maxItems": 1, "items": component_ref("Accepted")}


class RecordApi:
    """The shared endpoints of ``kind``, under ``path`` (``/api/lambda_instances``)."""

    # May a status update answer 409 (a kind's own rule, ``refuse_update``)?
    update_conflicts = False
    # OpenAPI links from a create to a kind's own operations on the same uuid.
    more_links_from_create = {}

    def __init__(self, kind, texts, path, registry):
        self.kind = kind
        self.texts = texts
        self.store = RecordStore(kind)
        self.database = get_database(registry)
        self.counts_cache = registry.lambda_registry_counts
        self.max_page_size = get_settings(registry).max_page_size
        plural = kind.table.replace("lambda_", "")
        label, key = kind.statuses.label, kind.key
        tag = plural
        self.collection = RegistryService(plural, path, tag)
        self.count = RegistryService(f"{key}_count", path + "/count", tag)
        self.item = RegistryService(key, path + "/{uuid}", tag)
        self.item_status = RegistryService(f"{key}_status", path + "/{uuid}/status", tag)
        self.uuid = uuid_in_path(self.not_found)

        self.collection.add_view(
            "GET", self.list_records,
            validators=(require_owner, query_validator(list_query(kind.statuses, self.max_page_size))),
            answer=Answer(f"list_{plural}", 200, texts.listed, f"{label}ListAnswer",
                          {"type": "array", "items": component_ref(label)}, pagination=True),
        )
        created_links = {
            f"Get{label}": (f"get_{key}", "$request.body#/uuid"),
            f"Update{label}": (f"update_{key}", "$request.body#/uuid"),
            f"Update{label}Status": (f"update_{key}_status", "$request.body#/uuid"),
            f"Delete{label}": (f"delete_{key}", "$request.body#/uuid"),
            **self.more_links_from_create,
        }
        self.collection.add_view(
            "POST", self.create,
            validators=(json_body_expected, require_owner, body_validator(body_schema(kind.create_nodes(), f"{label}Create"))),
            answer=Answer(f"create_{key}", 202, texts.created, "AcceptedAnswer", ACCEPTED, conflicts=True,
                          location=True, links=created_links),
        )
        self.item.add_view(
            "GET", self.details, validators=(require_owner, self.uuid),
            answer=Answer(f"get_{key}", 200, texts.details, f"{label}DetailsAnswer",
                          {"type": "array", "minItems": 1, "maxItems": 1, "items": component_ref(label + "WithHistory")}),
        )
        updates = body_validator(body_schema(kind.status_update_nodes(), f"{label}StatusUpdate"))
        for service, operation in ((self.item, f"update_{key}"), (self.item_status, f"update_{key}_status")):
            service.add_view(
                "POST", self.update_status, validators=(json_body_expected, require_owner, self.uuid, updates),
                answer=Answer(operation, 202, texts.updated, "AcceptedAnswer", ACCEPTED, conflicts=self.update_conflicts),
            )

    def services(self):
        """In the order their routes must be tried: ".../count" before ".../{uuid}"."""
        return [self.collection, self.count, self.item, self.item_status]

    # -- answers -----------------------------------------------------------------
    def not_found(self, uuid_text):
        return error(404, self.texts.not_found, [error_entry("path", "uuid", f"no {self.kind.row.replace('_', ' ')} {uuid_text}")])

    @staticmethod
    def accepted(description, uuid, **data):
        return success(202, description, [{"id": uuid, **data}])

    def forget_counts_after(self, db):
        db.after_commit(lambda: self.counts_cache.invalidate(self.kind.key))

    def locked_or_404(self, db, request):
        locked = self.store.lock(db, request.validated["owner"], request.validated["uuid"])
        if locked is None:
            raise self.not_found(request.matchdict["uuid"])
        return locked

    # -- views ---------------------------------------------------------------------
    def create(self, request):
        fields = request.validated
        values = {field.name: fields.get(field.name, field.missing) for field in self.kind.fields}
        values["uuid"] = fields["uuid"]
        now = utcnow()

        def work(db):
            if not self.store.create(db, fields["owner"], values, now):
                raise error(409, self.texts.already_created,
                            [error_entry("body", "uuid", f"{fields['uuid']} is already registered")])
            self.forget_counts_after(db)

        self.database.write(request, work)
        location = request.route_url(self.item.name, uuid=fields["uuid"], slash="")
        return success(202, self.texts.created, [{"id": fields["uuid"]}], headers={"Location": location})

    def refuse_update(self, locked, request):
        """Raise if ``locked`` may not change status (a kind's own rule)."""

    def update_status(self, request):
        owner, now = request.validated["owner"], utcnow()

        def work(db):
            locked = self.locked_or_404(db, request)
            self.refuse_update(locked, request)
            if self.store.change_status(db, owner, locked, request.validated["status"],
                                        request.validated["failure_message"], now):
                self.forget_counts_after(db)

        self.database.write(request, work)
        return self.accepted(self.texts.updated, request.validated["uuid"])

    def details(self, request):
        with self.database.read(request) as db:
            found = self.store.details(db, request.validated["owner"], request.validated["uuid"])
        if found is None:
            raise self.not_found(request.matchdict["uuid"])
        row, history = found
        record = self.kind.answer(row)
        record["history"] = [self.kind.history_answer(entry) for entry in history]
        return success(200, self.texts.details, [record])

    def list_records(self, request):
        owner, statuses = request.validated["owner"], request.validated["status"]
        offset, limit = request.validated["offset"], request.validated["limit"]
        page_size = self.max_page_size if limit is None else limit
        with self.database.read(request) as db:
            # One row more than the page tells whether the list goes on.
            rows = self.store.page(db, owner, statuses, page_size + 1, offset)
            more = len(rows) > page_size
            total = None
            if more or limit is not None or offset > 0:
                total = self.store.counters.owned(db, owner, statuses)
        data = [self.kind.answer(row) for row in rows[:page_size]]
        pagination = None if total is None else _pagination(request, total, page_size, offset)
        return success(200, self.texts.listed, data, pagination=pagination)

    def public_counters(self, request):
        """{status: (records, *summed totals)}, from the cache or the counters."""

        def load():
            with self.database.read(request) as db:
                return self.store.counters.public(db)

        return self.counts_cache.get(self.kind.key, load)


def _page_url(request, limit, offset):
    query = [(name, value) for name, value in request.GET.items() if name not in ("limit", "offset")]
    query += [("limit", str(limit)), ("offset", str(offset))]
    return request.path_url + "?" + urlencode(query)


def _pagination(request, total, limit, offset):
    next_url = previous_url = None
    if limit > 0 and offset + limit < total:
        next_url = _page_url(request, limit, offset + limit)
    if limit > 0 and offset > 0:
        # Past the end, "previous" is the last page that has records.
        previous_url = _page_url(request, limit, max(0, min(offset - limit, total - limit)))
    return {"count": total, "limit": limit, "offset": offset, "next": next_url, "previous": previous_url}
