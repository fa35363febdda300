"""Colander schemas of every request: bodies and query strings.

The types are strict on purpose: service VMs never read our answers, so a
value we would silently coerce or truncate is a value they never learn was
wrong. Each type's error message is what the client sees in ``errors``.
"""

import json
import re
import unicodedata

import colander

from .statuses import ALL_CODES, CODE_BY_TEXT

NAME_MAX = 100
FAILURE_MESSAGE_MAX = 1000
INSTANCE_INFO_MAX_BYTES = 16 * 1024
# Hyphenated 8-4-4-4-12, or 32 hex digits; no backreferences, so that the
# same pattern serves JSON Schema validators (Rust's regex has none).
UUID_PATTERN_TEXT = "^({h}{{8}}-{h}{{4}}-{h}{{4}}-{h}{{4}}-{h}{{12}}|{h}{{32}})$".format(h="[0-9a-fA-F]")
UUID_PATTERN = re.compile(UUID_PATTERN_TEXT)
# Newlines and tabs are allowed in a failure message (stack traces, logs).
MESSAGE_WHITESPACE = frozenset("\n\r\t")


# The largest finite double: JSON numbers past it parse to infinity in
# Python and in browsers alike.
DOUBLE_MAX = 1.7976931348623157e308


class NotStrictJSON(ValueError):
    """Valid to Python's parser, but not JSON every client can read back."""


def _reject_constant(name):
    raise NotStrictJSON(f"{name} is not a JSON number")


def _finite_float(text):
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise NotStrictJSON(f"the number {text[:20]} does not fit a double")
    return number


def _double_sized_int(text):
    number = int(text)
    if abs(number) > DOUBLE_MAX:
        raise NotStrictJSON(f"the number {text[:20]}... does not fit a double")
    return number


def loads(text):
    """json.loads, strict: no NaN or Infinity, no number that does not fit a
    double (``1e400`` would become infinity, which no JSON can carry back)."""
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_double_sized_int)


def dumps_compact(value):
    # allow_nan=False: never write NaN or Infinity, which are not JSON.
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _bad_characters(text, allowed=frozenset()):
    """Control characters, and lone surrogates that no database can store."""
    return any(
        unicodedata.category(char) in ("Cc", "Cs") and char not in allowed for char in text
    )


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
        return {
            "type": "string",
            "pattern": UUID_PATTERN_TEXT,
            "description": "a UUID, any case, with or without hyphens",
        }

    def parse(self, node, cstruct):
        uuid = normalise_uuid(cstruct)
        if uuid is None:
            raise colander.Invalid(node, f"{quoted(cstruct)} is not a UUID")
        return uuid


class Name(StrictType):
    def json_schema(self, node):
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": NAME_MAX,
            # Some character that is not white space, and no control characters.
            "pattern": r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
            "description": f"1 to {NAME_MAX} characters once trimmed; no control characters",
        }

    def parse(self, node, cstruct):
        if not isinstance(cstruct, str):
            raise colander.Invalid(node, "must be a string")
        name = cstruct.strip()
        if not 1 <= len(name) <= NAME_MAX:
            raise colander.Invalid(
                node, f"must be 1 to {NAME_MAX} characters long after trimming"
            )
        if _bad_characters(name):
            raise colander.Invalid(node, "must not contain control characters")
        return name


class FailureMessage(StrictType):
    def json_schema(self, node):
        return {
            "type": "string",
            "maxLength": FAILURE_MESSAGE_MAX,
            "pattern": r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$",
            "default": "",
            "description": "newlines and tabs allowed, no other control characters",
        }

    def parse(self, node, cstruct):
        if not isinstance(cstruct, str):
            raise colander.Invalid(node, "must be a string")
        if len(cstruct) > FAILURE_MESSAGE_MAX:
            raise colander.Invalid(node, f"must be at most {FAILURE_MESSAGE_MAX} characters long")
        if _bad_characters(cstruct, MESSAGE_WHITESPACE):
            raise colander.Invalid(
                node, "must not contain control characters other than newlines and tabs"
            )
        return cstruct


class StatusCode(StrictType):
    """A status code as a string ("20") or an integer (20); gives the integer."""

    def json_schema(self, node):
        codes = sorted(ALL_CODES)
        return {
            "anyOf": [
                {"type": "string", "enum": [str(code) for code in codes]},
                {"type": "integer", "enum": codes},
            ],
            "description": 'a status code, "20" (or 20)',
        }

    def parse(self, node, cstruct):
        if isinstance(cstruct, bool) or not isinstance(cstruct, (str, int)):
            raise colander.Invalid(node, 'must be a status code string such as "20"')
        code = CODE_BY_TEXT.get(cstruct) if isinstance(cstruct, str) else cstruct
        if code not in ALL_CODES:
            raise colander.Invalid(node, f"{quoted(str(cstruct))} is not a known status code")
        return code


class InstanceInfo(StrictType):
    """A JSON object, or a string holding one; "" means {}. Gives its compact encoding."""

    def json_schema(self, node):
        return {
            "anyOf": [
                {"type": "object"},
                {"type": "string", "contentMediaType": "application/json", "contentSchema": {"type": "object"}},
            ],
            "description": f'a JSON object, or a string holding one ("" means {{}}); '
            f"at most {INSTANCE_INFO_MAX_BYTES} bytes once encoded",
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
            encoded = dumps_compact(value)
        except RecursionError:
            raise colander.Invalid(node, "is nested too deeply")
        if len(encoded.encode("utf-8", "surrogatepass")) > INSTANCE_INFO_MAX_BYTES:
            raise colander.Invalid(
                node, f"must be at most {INSTANCE_INFO_MAX_BYTES} bytes once encoded"
            )
        return encoded


def required(schema_type):
    return colander.SchemaNode(schema_type, missing_msg="is required")


class CreateInstance(colander.MappingSchema):
    uuid = required(Uuid())
    name = required(Name())
    instance_info = required(InstanceInfo())
    status = required(StatusCode())
    failure_message = colander.SchemaNode(FailureMessage(), missing="")


class UpdateStatus(colander.MappingSchema):
    status = required(StatusCode())
    # Absent clears the old message.
    failure_message = colander.SchemaNode(FailureMessage(), missing="")


class QueryInteger(colander.SchemaType):
    """A whole number in a query string, within [minimum, maximum]."""

    def __init__(self, minimum=0, maximum=None):
        self.minimum = minimum
        self.maximum = maximum

    def json_schema(self, node):
        schema = {"type": "integer", "minimum": self.minimum}
        maximum = self.maximum(node) if callable(self.maximum) else self.maximum
        if maximum is not None:
            schema["maximum"] = maximum
        return schema

    def serialize(self, node, appstruct):
        return appstruct

    def deserialize(self, node, cstruct):
        if cstruct is colander.null:
            return colander.null
        maximum = self.maximum(node) if callable(self.maximum) else self.maximum
        bounds = f"from {self.minimum}" + (f" to {maximum}" if maximum is not None else " up")
        if not isinstance(cstruct, str) or not re.fullmatch(r"[0-9]{1,18}", cstruct):
            raise colander.Invalid(node, f"must be a whole number {bounds}")
        number = int(cstruct)
        if number < self.minimum or (maximum is not None and number > maximum):
            raise colander.Invalid(node, f"must be a whole number {bounds}")
        return number


class StatusFilter(colander.SchemaType):
    """A comma-separated list of status codes: ``0,20``; gives a sorted list of integers."""

    def json_schema(self, node):
        code = "(" + "|".join(sorted(CODE_BY_TEXT, key=int)) + ")"
        return {
            "type": "string",
            "pattern": rf"^ *{code} *(, *{code} *)*$",
            "description": "status codes separated by commas, e.g. 0,20",
        }

    def serialize(self, node, appstruct):
        return appstruct

    def deserialize(self, node, cstruct):
        if cstruct is colander.null:
            return colander.null
        parts = [part.strip(" ") for part in cstruct.split(",")] if isinstance(cstruct, str) else []
        if not parts or not all(parts):
            raise colander.Invalid(node, "must be a comma-separated list of status codes")
        unknown = [part for part in parts if part not in CODE_BY_TEXT]
        if unknown:
            raise colander.Invalid(node, f"{quoted(unknown[0])} is not a known status code")
        return sorted({CODE_BY_TEXT[part] for part in parts})


class ListQuery(colander.MappingSchema):
    limit = colander.SchemaNode(
        QueryInteger(maximum=lambda node: node.bindings["max_page_size"]), missing=None
    )
    offset = colander.SchemaNode(QueryInteger(), missing=0)
    status = colander.SchemaNode(StatusFilter(), missing=None)


class CountQuery(colander.MappingSchema):
    status = colander.SchemaNode(StatusFilter(), missing=None)


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
