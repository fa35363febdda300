"""The lambda instances API of SPEC.md."""

from urllib.parse import urlencode

from .. import store
from ..auth import require_owner
from ..openapi import answers
from ..public_counts import invalidate_after_commit
from ..representation import counts_json, history_json, instance_json
from ..responses import (
    ALREADY_CREATED,
    ALREADY_DESTROYED,
    INSTANCE_NOT_FOUND,
    error,
    error_entry,
    success,
)
from ..schemas import CreateInstance, UpdateStatus
from ..settings import get_settings
from ..statuses import DESTROYED
from ..validation import body_validator, json_body_expected, query_validator, uuid_in_path
from . import RegistryService

CREATED = "Your request to create a new lambda instance has been accepted."
UPDATED = "Lambda instances status update accepted."
DESTROY_ACCEPTED = "Your request to destroy the specified lambda instance has been accepted."
LISTED = "Lambda instances."
DETAILS = "Lambda instance details."
COUNTED = "Lambda instances count."

instances = RegistryService("instances", "/api/lambda_instances")
count = RegistryService("count", "/api/lambda_instances/count")
instance = RegistryService("instance", "/api/lambda_instances/{uuid}")
instance_status = RegistryService("instance_status", "/api/lambda_instances/{uuid}/status")

# ".../count" before ".../{uuid}": the first matching route wins.
SERVICES = [instances, count, instance, instance_status]


def _accepted(description, uuid, headers=None):
    return success(202, description, [{"id": uuid}], headers=headers)


def _not_found(uuid_text):
    return error(404, INSTANCE_NOT_FOUND, [error_entry("path", "uuid", f"no lambda instance {uuid_text}")])


def _owned_instance(request, for_update=False):
    find = store.lock_instance if for_update else store.find_instance
    found = find(request.lambda_registry_dbsession, request.validated["owner"], request.validated["uuid"])
    if found is None:
        raise _not_found(request.matchdict["uuid"])
    return found


@instances.post(validators=(json_body_expected, require_owner, body_validator(CreateInstance())))
@answers(202, CREATED, {"$ref": "#/components/schemas/Accepted"}, conflicts=True, location=True)
def create_instance(request):
    fields = request.validated
    created = store.create_instance(
        request.lambda_registry_dbsession,
        owner=fields["owner"],
        uuid=fields["uuid"],
        name=fields["name"],
        instance_info=fields["instance_info"],
        status=fields["status"],
        failure_message=fields["failure_message"],
    )
    if not created:
        raise error(409, ALREADY_CREATED, [error_entry("body", "uuid", f"{fields['uuid']} is already registered")])
    invalidate_after_commit(request)
    location = request.route_url("lambda_registry.instance", uuid=fields["uuid"], slash="")
    return _accepted(CREATED, fields["uuid"], headers={"Location": location})


@answers(202, UPDATED, {"$ref": "#/components/schemas/Accepted"}, conflicts=True)
def update_status(request):
    found = _owned_instance(request, for_update=True)
    if found.status == DESTROYED:
        raise error(409, ALREADY_DESTROYED, [error_entry("path", "uuid", "a destroyed instance cannot change status")])
    if store.change_status(
        request.lambda_registry_dbsession,
        found,
        request.validated["status"],
        request.validated["failure_message"],
    ):
        invalidate_after_commit(request)
    return _accepted(UPDATED, found.uuid)


UPDATE_VALIDATORS = (json_body_expected, require_owner, uuid_in_path, body_validator(UpdateStatus()))
instance.add_view("POST", update_status, validators=UPDATE_VALIDATORS)
instance_status.add_view("POST", update_status, validators=UPDATE_VALIDATORS)


@instance.delete(validators=(require_owner, uuid_in_path))
@answers(202, DESTROY_ACCEPTED, {"$ref": "#/components/schemas/Accepted"})
def destroy_instance(request):
    found = _owned_instance(request, for_update=True)
    if found.status == DESTROYED:
        # Already destroyed answers as the seed's service did: not found.
        raise _not_found(request.matchdict["uuid"])
    store.change_status(request.lambda_registry_dbsession, found, DESTROYED, "")
    invalidate_after_commit(request)
    return _accepted(DESTROY_ACCEPTED, found.uuid)


@instance.get(validators=(require_owner, uuid_in_path))
@answers(200, DETAILS, {"type": "array", "minItems": 1, "maxItems": 1, "items": {"$ref": "#/components/schemas/RecordWithHistory"}})
def get_instance(request):
    found = _owned_instance(request)
    record = instance_json(found)
    record["history"] = [
        history_json(change)
        for change in store.history_of(request.lambda_registry_dbsession, found)
    ]
    return success(200, DETAILS, [record])


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
    return {
        "count": total,
        "limit": limit,
        "offset": offset,
        "next": next_url,
        "previous": previous_url,
    }


@instances.get(validators=(require_owner, query_validator("list")))
@answers(200, LISTED, {"type": "array", "items": {"$ref": "#/components/schemas/Record"}}, pagination=True)
def list_instances(request):
    dbsession = request.lambda_registry_dbsession
    owner = request.validated["owner"]
    statuses = request.validated["status"]
    offset = request.validated["offset"]
    limit = request.validated["limit"]
    page_size = get_settings(request.registry).max_page_size if limit is None else limit
    # One row more than the page tells whether the list goes on.
    rows = store.list_instances(dbsession, owner, statuses, page_size + 1, offset)
    more = len(rows) > page_size
    rows = rows[:page_size]
    pagination = None
    if more or limit is not None or offset > 0:
        total = store.count_owned(dbsession, owner, statuses)
        pagination = _pagination(request, total, page_size, offset)
    return success(200, LISTED, [instance_json(row) for row in rows], pagination=pagination)


@count.get(validators=(query_validator("count"),))
@answers(200, COUNTED, {"$ref": "#/components/schemas/Counts"})
def count_instances(request):
    records = request.registry.lambda_registry_public_counts.get(
        lambda: store.public_counters(request.lambda_registry_dbsession)
    )
    return success(200, COUNTED, counts_json(store.public_counts(records, request.validated["status"])))
