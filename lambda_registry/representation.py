"""How stored records look in JSON answers."""

import json

from .statuses import STATUS_NAMES


def timestamp(moment):
    """ISO 8601 UTC, to the microsecond, with a ``Z``."""
    return moment.isoformat(timespec="microseconds") + "Z"


def instance_json(instance):
    return {
        "uuid": instance.uuid,
        "name": instance.name,
        "instance_info": json.loads(instance.instance_info),
        "status": str(instance.status),
        "status_name": STATUS_NAMES[instance.status],
        "failure_message": instance.failure_message,
        "created_at": timestamp(instance.created_at),
        "updated_at": timestamp(instance.updated_at),
    }


def history_json(change):
    return {
        "status": str(change.status),
        "status_name": STATUS_NAMES[change.status],
        "failure_message": change.failure_message,
        "at": timestamp(change.at),
    }


def counts_json(counts):
    # Strings, as the original API gave the count.
    return {key: str(value) for key, value in counts.items()}
