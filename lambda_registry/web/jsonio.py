"""JSON in and out, strictly: what we accept and what we answer is JSON that
every client (browsers' JSON.parse included) reads back unchanged."""

import json

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
    double (``1e400`` would become infinity, which no JSON can carry back).
    Raises ``NotStrictJSON``, ``ValueError`` or ``RecursionError``."""
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_double_sized_int)


# allow_nan=False: never NaN or Infinity, which are not JSON. Made once: an
# encoder built per call costs more than encoding a small answer.
_COMPACT = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def dumps(value):
    """Compact strict JSON text (ASCII: any character escaped)."""
    return _COMPACT.encode(value)


def dumps_bytes(value):
    return _COMPACT.encode(value).encode("ascii")
