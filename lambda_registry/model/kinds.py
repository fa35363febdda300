"""The records the registry keeps, each field declared once.

A ``RecordKind`` lists its fields; its tables (``storage/tables.py``), the
schema of its create body, the statements that store and read it, its JSON
answers and its OpenAPI component are all derived from that list. Adding a
field to a record is one ``Field`` here and a migration (docs/extending.md).

Every record also has what no declaration needs to repeat: its owner, its
``uuid``, ``created_at`` and ``updated_at``, and a status history.
"""

import dataclasses
import datetime
import functools
import json
from typing import Any, Callable

import colander
from sqlalchemy import BigInteger, SmallInteger, String, Text as TextColumn

from ..web.schemas import STORED_UUID_PATTERN, JsonObject, Name, StatusCode, Text, Uuid, component_ref, required
from .statuses import APPLICATION_STATUSES, INSTANCE_STATUSES


def utcnow():
    # Stored naive, always UTC: SQLite has no time zones.
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


TIMESTAMP_SCHEMA = {"type": "string", "format": "date-time"}


@dataclasses.dataclass(frozen=True)
class Field:
    """One field of a record: how it is stored, taken and answered."""

    name: str
    column_type: Any
    # How a create body gives it (a colander type); None: the server sets it.
    body_type: Any = None
    # Its value when a create body leaves it out (colander.required: it must be there).
    missing: Any = colander.required
    # The JSON Schema of its value in answers.
    schema: dict = dataclasses.field(default_factory=lambda: {"type": "string"})
    # The stored value as answered; None: as stored.
    to_json: Callable | None = None
    # The value of rows stored before a migration added the field (SQL text).
    server_default: str | None = None

    def answer(self, value):
        """(name, JSON value) pairs of this field in an answer."""
        return ((self.name, value if self.to_json is None else self.to_json(value)),)

    def answer_schemas(self):
        return {self.name: self.schema}

    def body_node(self):
        node = colander.SchemaNode(self.body_type, name=self.name, missing=self.missing)
        if self.missing is colander.required:
            node.missing_msg = "is required"
        return node


@dataclasses.dataclass(frozen=True)
class StatusField(Field):
    """The status: stored as a small integer, answered as its code and its name."""

    statuses: Any = None

    def answer(self, code):
        return (("status", str(code)), ("status_name", self.statuses.names[code]))

    def answer_schemas(self):
        label = self.statuses.label
        return {"status": component_ref(label + "Status"), "status_name": component_ref(label + "StatusName")}


# Every kind's name: 1 to 100 characters once trimmed.
NAME = Field("name", String(100), Name(100))


def status_fields(statuses):
    """A status of ``statuses`` (answered with its name) and its failure
    message (optional; absent clears a status update's old message)."""
    return (
        StatusField("status", SmallInteger, StatusCode(statuses), statuses=statuses),
        Field("failure_message", TextColumn, Text(1000), missing=""),
    )


def _named(attribute, suffix):
    """A name derived from another: ``table = name + "s"``."""
    return property(lambda kind: getattr(kind, attribute) + suffix)


@dataclasses.dataclass(frozen=True)
class RecordKind:
    """A kind of record: its names, its tables and its fields."""

    key: str  # "instance": names its history's foreign key and its operations
    name: str  # "lambda_instance": its tables are named after it
    plural: str  # "instances": its URLs, its OpenAPI tag and operations
    fields: tuple
    statuses: Any
    # Fields whose totals by status the public counters keep beside the records.
    summed: tuple = ()

    table = _named("name", "s")
    history_table = _named("name", "_status_changes")
    status_counts_table = _named("name", "_status_counts")
    owner_counts_table = _named("name", "_owner_counts")
    count_changes_table = _named("name", "_count_changes")
    tombstones_table = _named("name", "_tombstones")
    daily_counts_table = _named("name", "_daily_counts")
    history_key = _named("key", "_id")

    @property
    def singular(self):
        """In words: "lambda instance"."""
        return self.name.replace("_", " ")

    def field(self, name):
        return next(field for field in self.fields if field.name == name)

    @functools.cached_property
    def status_field(self):
        """The status field (read once per history entry of every details answer)."""
        return self.field("status")

    # -- what a client sends ---------------------------------------------------
    def create_nodes(self):
        """The colander nodes of a create body: the uuid, then each field it takes."""
        return [required(Uuid(), "uuid")] + [field.body_node() for field in self.fields if field.body_type is not None]

    def status_update_nodes(self):
        return [self.field("status").body_node(), self.field("failure_message").body_node()]

    # -- what it is answered ---------------------------------------------------
    @property
    def answer_columns(self):
        """The stored columns an answer is made of, in the order of ``answer``."""
        return ("uuid",) + tuple(field.name for field in self.fields) + ("created_at", "updated_at")

    def answer(self, row):
        """The JSON of a record, from a row holding ``answer_columns`` (its
        timestamps already ISO 8601 text, made by the database)."""
        record = {"uuid": row.uuid}
        for field in self.fields:
            record.update(field.answer(getattr(row, field.name)))
        record["created_at"] = row.created_at
        record["updated_at"] = row.updated_at
        return record

    def answer_schema(self):
        """The JSON Schema of ``answer``'s result."""
        properties = {"uuid": {"type": "string", "pattern": STORED_UUID_PATTERN}}
        for field in self.fields:
            properties.update(field.answer_schemas())
        properties["created_at"] = properties["updated_at"] = TIMESTAMP_SCHEMA
        return {"type": "object", "required": list(properties), "properties": properties, "additionalProperties": False}

    def history_answer(self, row):
        """The JSON of a history entry, from a row holding ``history_status``,
        ``history_failure_message`` and ``history_at`` (ISO 8601 text)."""
        entry = dict(self.status_field.answer(row.history_status))
        entry["failure_message"] = row.history_failure_message
        entry["at"] = row.history_at
        return entry

    def history_schema(self):
        properties = dict(self.field("status").answer_schemas())
        properties["failure_message"] = {"type": "string"}
        properties["at"] = TIMESTAMP_SCHEMA
        return {"type": "object", "required": list(properties), "properties": properties, "additionalProperties": False}


INSTANCES = RecordKind(
    key="instance",
    name="lambda_instance",
    plural="instances",
    statuses=INSTANCE_STATUSES,
    fields=(
        NAME,
        # The compact JSON encoding of an object, stored as text: it is never
        # queried, and text keeps what jsonb would refuse (\u0000).
        Field("instance_info", TextColumn, JsonObject(16 * 1024), schema={"type": "object"}, to_json=json.loads),
        *status_fields(INSTANCE_STATUSES),
    ),
)

APPLICATIONS = RecordKind(
    key="application",
    name="lambda_application",
    plural="applications",
    statuses=APPLICATION_STATUSES,
    fields=(
        NAME,
        Field("description", TextColumn, Text(10_000), missing=""),
        *status_fields(APPLICATION_STATUSES),
        # Changed only by the increment and decrement endpoints.
        Field("times_started", BigInteger, missing=0, schema={"type": "integer", "minimum": 0}, server_default="0"),
    ),
    # The public count reports the running total of uploaded applications.
    summed=("times_started",),
)

KINDS = (INSTANCES, APPLICATIONS)
