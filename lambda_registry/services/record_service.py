"""What the service of every kind of record shares: create, status update,
list and details, for the API's endpoints and for a host's code.

The public methods (``create``, ``update_status``) take fields as a client
sends them, validate them with the same colander schemas as the API's
endpoints, and raise the same errors (the envelope's ``EnvelopeError``).
Every write of one record returns the record's new ETag and takes an
``If-Match`` condition (``web/conditional.py``): a tag that is not the
record's current one is a 412, checked once the record is locked.
The endpoints validate with Cornice first, then call the same writes. A
kind's own module (``instances.py``, ``applications.py``) adds what is its
own: how it is deleted, what its count reports, its extra endpoints.
"""

import dataclasses
from urllib.parse import urlencode

from ..storage.changes import CursorTooOld
from ..storage.record_store import RecordStore
from ..web.conditional import if_match_allows, iso, record_tag
from ..web.envelope import error, error_entry, success
from ..web.schemas import body_schema, changes_query, component_ref, cursor_text, list_query, normalise_uuid
from ..web.validation import checked_fields
from .changes import MAX_WAIT_SECONDS, position_of
from .service import Operation, RegistryService


@dataclasses.dataclass(frozen=True, kw_only=True)
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
    changed: str  # a 412: If-Match holds another tag than the record's
    changes: str  # the changes feed


# What every write answers in ``data``: the uuid written.
ACCEPTED = {"type": "array", "minItems": 1, "maxItems": 1, "items": component_ref("Accepted")}
CURSOR_TOO_OLD = "The cursor is too old: list the records again."


class RecordService:
    """The shared operations of ``kind``, and their endpoints under ``path`` (``/api/lambda_instances``)."""

    # May a status update answer 409 (a kind's own rule, ``refuse_update``)?
    update_conflicts = False
    # OpenAPI links from a create to a kind's own operations on the same uuid.
    more_links_from_create = {}

    def __init__(self, kind, texts, path, components):
        self.kind = kind
        self.texts = texts
        self.database = components.database
        self.counts = components.counts
        self.waiters = components.waiters
        self.metrics = components.metrics
        self.users = components.users
        self.store = RecordStore(kind, components.counts)
        self.max_page_size = components.settings.max_page_size
        label, key = kind.statuses.label, kind.key
        self.create_schema = body_schema(kind.create_nodes(), f"{label}Create")
        self.status_schema = body_schema(kind.status_update_nodes(), f"{label}StatusUpdate")

        tag = kind.plural
        self.collection = RegistryService(kind.plural, path, tag)
        self.count = RegistryService(f"{key}_count", path + "/count", tag)
        self.changes = RegistryService(f"{key}_changes", path + "/changes", tag)
        self.item = RegistryService(key, path + "/{uuid}", tag)
        self.item_status = RegistryService(f"{key}_status", path + "/{uuid}/status", tag)

        self.collection.add_view("GET", self.list_view, operation=Operation(
            f"list_{kind.plural}", 200, texts.listed, f"{label}ListAnswer",
            {"type": "array", "items": component_ref(label)}, token=True,
            query=list_query(kind.statuses, self.max_page_size), pagination=True, conditional=True))
        self.changes.add_view("GET", self.changes_view, operation=Operation(
            f"follow_{key}_changes", 200, texts.changes, f"{label}ChangesAnswer",
            {"type": "array", "items": {"anyOf": [component_ref(label), component_ref("Deleted")]}}, token=True,
            query=changes_query(self.max_page_size, MAX_WAIT_SECONDS), changes=True, conditional=True, gone=True))
        created_links = {
            f"Get{label}": (f"get_{key}", "$request.body#/uuid"),
            f"Update{label}": (f"update_{key}", "$request.body#/uuid"),
            f"Update{label}Status": (f"update_{key}_status", "$request.body#/uuid"),
            f"Delete{label}": (f"delete_{key}", "$request.body#/uuid"),
            **self.more_links_from_create,
        }
        self.collection.add_view("POST", self.create_view, operation=Operation(
            f"create_{key}", 202, texts.created, "AcceptedAnswer", ACCEPTED, token=True, body=self.create_schema,
            conflicts=True, location=True, links=created_links, answers_tag=True))
        self.item.add_view("GET", self.details_view, operation=Operation(
            f"get_{key}", 200, texts.details, f"{label}DetailsAnswer",
            {"type": "array", "minItems": 1, "maxItems": 1, "items": component_ref(label + "WithHistory")},
            token=True, not_found=self.not_found, conditional=True))
        for service, operation_id in ((self.item, f"update_{key}"), (self.item_status, f"update_{key}_status")):
            service.add_view("POST", self.update_status_view, operation=Operation(
                operation_id, 202, texts.updated, "AcceptedAnswer", ACCEPTED, token=True, body=self.status_schema,
                not_found=self.not_found, conflicts=self.update_conflicts, if_match=True, answers_tag=True))

    def services(self):
        """In the order their routes must be tried: ".../count" before ".../{uuid}"."""
        return [self.collection, self.count, self.changes, self.item, self.item_status]

    # -- what a host's code calls too ------------------------------------------
    def create(self, request, owner, fields):
        """Register a record of ``owner`` from ``fields``, as a create body
        gives them (validated as the API validates them); its uuid,
        normalised. Raises the API's errors: 400 naming each bad field, 409."""
        values = checked_fields(self.create_schema, fields)
        self.store_new(request, owner, values)
        return values["uuid"]

    def update_status(self, request, owner, uuid, fields, if_match=None):
        """Post a new status of ``owner``'s record, as a status update body
        gives it (validated as the API validates it), if the record's ETag
        is one of ``if_match`` (an If-Match header's value; None: whatever
        it is). The record's new ETag. Raises the API's errors: 400, 404,
        412, and the kind's own 409."""
        uuid_text, uuid = uuid, normalise_uuid(uuid)
        if uuid is None:
            raise self.not_found(uuid_text)
        values = checked_fields(self.status_schema, fields)
        return self.change_status(request, owner, uuid, uuid_text, values["status"], values["failure_message"],
                                  if_match)

    def write(self, request, owner, work):
        """``database.write`` of ``work``, and once it has committed, the
        owner's waiters are told: this process's at once (``changes.py``),
        the other processes' through the database (``database.announce``)."""

        def told():
            self.waiters.changed(self.kind.key, owner)
            self.database.announce(self.kind.key, owner)

        def work_then_tell(executor):
            result = work(executor)
            executor.after_commit(told)
            return result

        return self.database.write(request, work_then_tell)

    # -- the writes, on values already validated; each returns the record's new tag
    def store_new(self, request, owner, values):
        def work(executor):
            created = self.store.create(executor, owner, values)
            if created is None:
                raise error(409, self.texts.already_created,
                            [error_entry("body", "uuid", f"{values['uuid']} is already registered")])
            return self.tag(owner, values["uuid"], created, created)

        return self.write(request, owner, work)

    def change_status(self, request, owner, uuid, uuid_text, status, failure_message, if_match=None):
        def work(executor):
            locked = self.locked_or_404(executor, owner, uuid, uuid_text, if_match)
            self.refuse_update(locked)
            updated = self.store.change_status(executor, owner, locked, status, failure_message)
            return self.tag(owner, uuid, locked.created_at, updated or locked.updated_at)

        return self.write(request, owner, work)

    def refuse_update(self, locked):
        """Raise if ``locked`` may not change status (a kind's own rule)."""

    def locked_or_404(self, executor, owner, uuid, uuid_text, if_match=None):
        """The owner's record, locked; a 404 if there is none, a 412 if
        ``if_match`` (an If-Match header's value) does not hold its tag."""
        locked = self.store.lock(executor, owner, uuid)
        if locked is None:
            raise self.not_found(uuid_text)
        if not if_match_allows(if_match, self.tag(owner, uuid, locked.created_at, locked.updated_at)):
            raise error(412, self.texts.changed, [error_entry(
                "header", "If-Match", f"the {self.kind.singular} has changed since this ETag: read it again")])
        return locked

    def tag(self, owner, uuid, created_at, updated_at):
        """The ETag of a record's details, from its stored timestamps."""
        return record_tag(self.kind, owner, uuid, iso(created_at), iso(updated_at))

    def not_found(self, uuid_text):
        return error(404, self.texts.not_found, [error_entry("path", "uuid", f"no {self.kind.singular} {uuid_text}")])

    # -- the endpoints -----------------------------------------------------------
    def caller(self, request):
        """The validated caller, remembered as a user seen (when due, ``users.py``)."""
        owner = request.validated["owner"]
        self.users.seen(request, owner)
        return owner

    @staticmethod
    def accepted(description, uuid, tag=None, **data):
        """A write's 202; with the record's new ETag, if it still exists."""
        return success(202, description, [{"id": uuid, **data}], headers=None if tag is None else {"ETag": tag})

    @staticmethod
    def if_match(request):
        """The request's If-Match condition (None: none)."""
        return request.headers.get("If-Match")

    def uuid_of(self, request):
        """(the normalised uuid of the URL, the uuid as the URL gave it)."""
        return request.validated["uuid"], request.matchdict["uuid"]

    def create_view(self, request):
        owner = self.caller(request)
        values = {name: value for name, value in request.validated.items() if name != "owner"}
        tag = self.store_new(request, owner, values)
        location = request.route_url(self.item.name, uuid=values["uuid"], slash="")
        return success(202, self.texts.created, [{"id": values["uuid"]}], headers={"Location": location, "ETag": tag})

    def update_status_view(self, request):
        owner = self.caller(request)
        tag = self.change_status(request, owner, *self.uuid_of(request), request.validated["status"],
                                 request.validated["failure_message"], self.if_match(request))
        return self.accepted(self.texts.updated, request.validated["uuid"], tag)

    def details_view(self, request):
        owner = self.caller(request)
        uuid, uuid_text = self.uuid_of(request)
        with self.database.read(request) as executor:
            found = self.store.details(executor, owner, uuid)
        if found is None:
            raise self.not_found(uuid_text)
        row, history = found
        record = self.kind.answer(row)
        record["history"] = [self.kind.history_answer(entry) for entry in history]
        tag = record_tag(self.kind, owner, uuid, row.created_at, row.updated_at)
        return success(200, self.texts.details, [record], headers={"ETag": tag})

    def list_view(self, request):
        owner = self.caller(request)
        statuses = request.validated["status"]
        offset, limit = request.validated["offset"], request.validated["limit"]
        updated_after = request.validated["updated_after"]
        page_size = self.max_page_size if limit is None else limit
        with self.database.read(request) as executor:
            # One row more than the page tells whether the list goes on.
            rows = self.store.page(executor, owner, statuses, page_size + 1, offset, updated_after)
            more = len(rows) > page_size
            total = None
            if more or limit is not None or offset > 0:
                total = self.store.owned(executor, owner, statuses, updated_after)
        data = [self.kind.answer(row) for row in rows[:page_size]]
        pagination = None if total is None else _pagination(request, total, page_size, offset)
        return success(200, self.texts.listed, data, pagination=pagination)

    def changes_view(self, request):
        owner = self.caller(request)
        since = position_of(request.validated["since"])
        limit = request.validated["limit"] or self.max_page_size

        def read():
            with self.database.read(request) as executor:
                return self.store.changes(executor, owner, since, limit)

        try:
            page = self.waiters.follow(read, self.kind, owner, request.validated["wait"])
        except CursorTooOld:
            raise error(410, CURSOR_TOO_OLD, [error_entry(
                "querystring", "since", "deletions after this cursor were forgotten, or it is not of this "
                "database: list the records again, then follow the cursor of a new changes request without since")])
        data = [{"uuid": row.uuid, "deleted": True} if row.deleted else self.kind.answer(row) for row in page.rows]
        self.metrics.changes_answered(self.kind.plural, len(data))
        cursor = cursor_text(page.after.position, page.after.uuid)
        query = [(name, value) for name, value in request.GET.items() if name != "since"] + [("since", cursor)]
        changes = {"cursor": cursor, "more": page.more, "next": request.path_url + "?" + urlencode(query)}
        return success(200, self.texts.changes, data, changes=changes)


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
