"""Colander types of every request: body fields and query strings.

The types are strict on purpose: service VMs never read our answers, so a
value we would silently coerce or truncate is a value they never learn was
wrong. Each type's error message is what the client sees in ``errors``, and
each type describes itself in JSON Schema (``json_schema``) for the OpenAPI
document.
"""

import datetime
import json
import re
import unicodedata

import colander

from .jsonio import NotStrictJSON, dumps, loads

# Hyphenated 8-4-4-4-12, or 32 hex digits; no backreferences, so that the
# same pattern serves JSON Schema validators (Rust's regex has none).
UUID_PATTERN_TEXT = "^({h}{{8}}-{h}{{4}}-{h}{{4}}-{h}{{4}}-{h}{{12}}|{h}{{32}})$".format(h="[0-9a-fA-F]")
UUID_PATTERN = re.compile(UUID_PATTERN_TEXT)
# What we answer: lower-case, hyphenated.
STORED_UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
# Newlines and tabs are allowed in long texts (stack traces, logs).
TEXT_WHITESPACE = frozenset("\n\r\t")


def _bad_characters(text, allowed=frozenset()):
    """Control characters, and lone surrogates that no database can store."""
    return any(unicodedata.category(char) in ("Cc", "Cs") and char not in allowed for char in text)


def quoted(value, limit=40):
    """A short JSON rendering of a client's value, for an error description."""
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 4] + '..."'


def normalise_uuid(value):
    """The lower-case hyphenated form of a uuid given in any accepted form, or None."""
    # fullmatch: "$" alone would let a trailing newline through.
    if not isinstance(value, str) or not UUID_PATTERN.fullmatch(value):
        return None
    digits = value.replace("-", "").lower()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


class StrictType(colander.SchemaType):
    """A leaf type that treats JSON null like a missing value."""

    def serialize(self, node, appstruct):
        return appstruct

    def deserialize(self, node, cstruct):
        if cstruct is colander.null or cstruct is None:
            return colander.null
        return self.parse(node, cstruct)


class Uuid(StrictType):
    def json_schema(self, node):
        return {"type": "string", "pattern": UUID_PATTERN_TEXT, "description": "a UUID, any case, with or without hyphens"}

    def parse(self, node, cstruct):
        uuid = normalise_uuid(cstruct)
        if uuid is None:
            raise colander.Invalid(node, f"{quoted(cstruct)} is not a UUID")
        return uuid


class Bounded(StrictType):
    """A type with a size limit (characters, or bytes once encoded)."""

    def __init__(self, limit):
        self.limit = limit


class Name(Bounded):
    """1 to ``limit`` characters once trimmed, no control characters."""

    def json_schema(self, node):
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": self.limit,
            # Some character that is not white space, and no control characters.
            "pattern": r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
            "description": f"1 to {self.limit} characters once trimmed; no control characters",
        }

    def parse(self, node, cstruct):
        if not isinstance(cstruct, str):
            raise colander.Invalid(node, "must be a string")
        name = cstruct.strip()
        if not 1 <= len(name) <= self.limit:
            raise colander.Invalid(node, f"must be 1 to {self.limit} characters long after trimming")
        if _bad_characters(name):
            raise colander.Invalid(node, "must not contain control characters")
        return name


class Text(Bounded):
    """At most ``limit`` characters; newlines and tabs allowed, no other control characters."""

    def json_schema(self, node):
        return {
            "type": "string",
            "maxLength": self.limit,
            "pattern": r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$",
            "default": "",
            "description": "newlines and tabs allowed, no other control characters",
        }

    def parse(self, node, cstruct):
        if not isinstance(cstruct, str):
            raise colander.Invalid(node, "must be a string")
        if len(cstruct) > self.limit:
            raise colander.Invalid(node, f"must be at most {self.limit} characters long")
        if _bad_characters(cstruct, TEXT_WHITESPACE):
            raise colander.Invalid(node, "must not contain control characters other than newlines and tabs")
        return cstruct


class StatusCode(StrictType):
    """A status code of ``statuses`` as a string ("20") or an integer (20); gives the integer."""

    def __init__(self, statuses):
        self.statuses = statuses

    def json_schema(self, node):
        example = str(self.statuses.sorted_codes()[-1])
        return {
            "anyOf": [component_ref(self.statuses.label + "Status"), component_ref(self.statuses.label + "StatusNumber")],
            "description": f'a status code, "{example}" (or {example})',
        }

    def parse(self, node, cstruct):
        if isinstance(cstruct, bool) or not isinstance(cstruct, (str, int)):
            raise colander.Invalid(node, f'must be a status code string such as "{self.statuses.sorted_codes()[-1]}"')
        code = self.statuses.by_text.get(cstruct) if isinstance(cstruct, str) else cstruct
        if code not in self.statuses.codes:
            raise colander.Invalid(node, f"{quoted(str(cstruct))} is not a known status code")
        return code


class JsonObject(Bounded):
    """A JSON object, or a string holding one; "" means {}. Gives its compact
    encoding, at most ``limit`` bytes."""

    def json_schema(self, node):
        return {
            "anyOf": [
                {"type": "object"},
                {"type": "string", "contentMediaType": "application/json", "contentSchema": {"type": "object"}},
            ],
            "description": f'a JSON object, or a string holding one ("" means {{}}); '
            f"at most {self.limit} bytes once encoded",
        }

    def deserialize(self, node, cstruct):
        # null is neither an object nor a string holding one.
        if cstruct is None:
            raise colander.Invalid(node, "must be a JSON object or a string holding one")
        return super().deserialize(node, cstruct)

    def parse(self, node, cstruct):
        value = cstruct
        if isinstance(cstruct, str):
            if cstruct == "":
                value = {}
            else:
                try:
                    value = loads(cstruct)
                except NotStrictJSON as problem:
                    raise colander.Invalid(node, f"is a string holding JSON that is not strict: {problem}")
                except (ValueError, RecursionError):
                    raise colander.Invalid(node, "is a string but not valid JSON")
        if not isinstance(value, dict):
            raise colander.Invalid(node, "must be a JSON object or a string holding one")
        try:
            encoded = dumps(value)
        except RecursionError:
            raise colander.Invalid(node, "is nested too deeply")
        # ASCII already (any other character is escaped): its length is its size.
        if len(encoded) > self.limit:
            raise colander.Invalid(node, f"must be at most {self.limit} bytes once encoded")
        return encoded


def component_ref(name):
    """A reference to a schema of the OpenAPI document's components."""
    return {"$ref": f"#/components/schemas/{name}"}


def required(schema_type, name=None):
    return colander.SchemaNode(schema_type, name=name, missing_msg="is required")


def body_schema(nodes, component_name=None):
    """A mapping schema of these nodes (each named); ``component_name``
    names it in the OpenAPI document's components. (Not the node's own name,
    which colander would put in front of every error's field name.)"""
    schema = colander.MappingSchema()
    schema.component_name = component_name
    for node in nodes:
        schema.add(node)
    return schema


class QueryInteger(colander.SchemaType):
    """A whole number in a query string, within [minimum, maximum]."""

    def __init__(self, minimum=0, maximum=None):
        self.minimum = minimum
        self.maximum = maximum

    def _maximum(self, node):
        return self.maximum(node) if callable(self.maximum) else self.maximum

    def json_schema(self, node):
        schema = {"type": "integer", "minimum": self.minimum}
        if self._maximum(node) is not None:
            schema["maximum"] = self._maximum(node)
        return schema

    def serialize(self, node, appstruct):
        return appstruct

    def deserialize(self, node, cstruct):
        if cstruct is colander.null:
            return colander.null
        maximum = self._maximum(node)
        bounds = f"from {self.minimum}" + (f" to {maximum}" if maximum is not None else " up")
        if not isinstance(cstruct, str) or not re.fullmatch(r"[0-9]{1,18}", cstruct):
            raise colander.Invalid(node, f"must be a whole number {bounds}")
        number = int(cstruct)
        if number < self.minimum or (maximum is not None and number > maximum):
            raise colander.Invalid(node, f"must be a whole number {bounds}")
        return number


class StatusFilter(colander.SchemaType):
    """A comma-separated list of status codes: ``0,20``; gives a sorted list of integers."""

    def __init__(self, statuses):
        self.statuses = statuses

    def json_schema(self, node):
        code = "(" + "|".join(str(code) for code in self.statuses.sorted_codes()) + ")"
        return {
            "type": "string",
            "pattern": rf"^ *{code} *(, *{code} *)*$",
            "description": "status codes separated by commas, e.g. 0,2",
        }

    def serialize(self, node, appstruct):
        return appstruct

    def deserialize(self, node, cstruct):
        if cstruct is colander.null:
            return colander.null
        parts = [part.strip(" ") for part in cstruct.split(",")] if isinstance(cstruct, str) else []
        if not parts or not all(parts):
            raise colander.Invalid(node, "must be a comma-separated list of status codes")
        unknown = [part for part in parts if part not in self.statuses.by_text]
        if unknown:
            raise colander.Invalid(node, f"{quoted(unknown[0])} is not a known status code")
        return sorted({self.statuses.by_text[part] for part in parts})


# A date, T (or a space), a time to the second or its fraction (up to
# microseconds), and Z, an offset, or nothing (UTC).
_LOCAL_DATE_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,6})?)?"
DATE_TIME = re.compile(_LOCAL_DATE_TIME + r"([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?")
# A space where the offset's + was: what "+02:00" becomes when not percent-encoded.
UNENCODED_PLUS = re.compile(_LOCAL_DATE_TIME + r" [0-9]{2}(:?[0-9]{2})?")


class QueryDateTime(colander.SchemaType):
    """An ISO 8601 date-time in a query string (a date and a time; an
    offset or ``Z``, or none for UTC); gives a naive UTC ``datetime``, as
    timestamps are stored."""

    def json_schema(self, node):
        return {"type": "string", "format": "date-time",
                "description": "an ISO 8601 date-time, e.g. 2026-12-01T09:30:00Z (without an offset: UTC)"}

    def serialize(self, node, appstruct):
        return appstruct

    def deserialize(self, node, cstruct):
        if cstruct is colander.null:
            return colander.null
        # fromisoformat alone takes a bare date too ("2026-12-01"), and
        # trailing junk or thousands of digits of a fraction: the pattern first.
        moment = None
        if isinstance(cstruct, str) and DATE_TIME.fullmatch(cstruct):
            try:
                moment = datetime.datetime.fromisoformat(cstruct[:10] + "T" + cstruct[11:].upper())
            except ValueError:
                pass
        if moment is None:
            hint = ""
            if isinstance(cstruct, str) and UNENCODED_PLUS.fullmatch(cstruct):
                hint = "; a + in a query string reads as a space: send it as %2B"
            raise colander.Invalid(node, f"{quoted(cstruct)} is not an ISO 8601 date-time "
                                         f"(e.g. 2026-12-01T09:30:00Z){hint}")
        if moment.tzinfo is not None:
            try:
                moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
            except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first representable moment
                raise colander.Invalid(node, f"{quoted(cstruct)} is out of range")
        return moment


class QuerySeconds(colander.SchemaType):
    """A number of seconds in a query string (``2``, ``0.5``), within [0, maximum]."""

    def __init__(self, maximum):
        self.maximum = maximum

    def json_schema(self, node):
        return {"type": "number", "minimum": 0, "maximum": self.maximum}

    def serialize(self, node, appstruct):
        return appstruct

    def deserialize(self, node, cstruct):
        if cstruct is colander.null:
            return colander.null
        if not isinstance(cstruct, str) or not re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,6})?", cstruct) \
                or float(cstruct) > self.maximum:
            raise colander.Invalid(node, f"must be a number of seconds from 0 to {self.maximum}")
        return float(cstruct)


# What a changes cursor is on the wire: a position and, within it, a uuid.
CURSOR_PATTERN = re.compile(r"(0|[1-9][0-9]{0,17})\.((?:[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})?)")
CURSOR_MAX = 200


def cursor_text(position, uuid):
    """The opaque cursor of a place in the changes feed."""
    return f"{position}.{uuid}"


class QueryCursor(colander.SchemaType):
    """A cursor this server gave (``cursor_text``); gives (position, uuid)."""

    def json_schema(self, node):
        return {"type": "string", "maxLength": CURSOR_MAX, "pattern": "^[\x21-\x7e]+$",
                "description": "the `cursor` of an earlier answer (opaque)"}

    def serialize(self, node, appstruct):
        return appstruct

    def deserialize(self, node, cstruct):
        if cstruct is colander.null:
            return colander.null
        found = CURSOR_PATTERN.fullmatch(cstruct) if isinstance(cstruct, str) else None
        if found is None:
            raise colander.Invalid(node, f"{quoted(cstruct)} is not a cursor of this server: "
                                         "send one it answered, or none to start again")
        return int(found.group(1)), found.group(2)


def changes_query(max_page_size, max_wait):
    return body_schema([
        colander.SchemaNode(QueryCursor(), name="since", missing=None),
        colander.SchemaNode(QueryInteger(minimum=1, maximum=max_page_size), name="limit", missing=None),
        colander.SchemaNode(QuerySeconds(max_wait), name="wait", missing=0.0),
    ])


def days_query(default, maximum=366):
    return body_schema([colander.SchemaNode(QueryInteger(minimum=1, maximum=maximum), name="days", missing=default)])


def list_query(statuses, max_page_size):
    return body_schema([
        colander.SchemaNode(QueryInteger(maximum=max_page_size), name="limit", missing=None),
        colander.SchemaNode(QueryInteger(), name="offset", missing=0),
        colander.SchemaNode(StatusFilter(statuses), name="status", missing=None),
        colander.SchemaNode(QueryDateTime(), name="updated_after", missing=None),
    ])


def status_query(statuses):
    return body_schema([colander.SchemaNode(StatusFilter(statuses), name="status", missing=None)])


def json_schema(node):
    """The JSON Schema of a colander node: the types above describe themselves."""
    if isinstance(node.typ, colander.Mapping):
        return {
            "type": "object",
            "properties": {child.name: json_schema(child) for child in node.children},
            "required": [child.name for child in node.children if child.required],
            # Unknown fields are refused (validation.body_validator).
            "additionalProperties": False,
        }
    return node.typ.json_schema(node)
