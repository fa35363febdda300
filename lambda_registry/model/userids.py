"""What a user id (the owner of records) may be, whoever vouches for it.

The same rule for the identity service's answers, a host application's
identities and the static tokens: a non-empty string that fits the owner
columns and that every database can store.
"""

import re

USER_ID_MAX = 255
# Unicode's control characters (category Cc) and surrogates (Cs) excluded.
USER_ID = re.compile(r"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,%d}" % USER_ID_MAX)


def is_valid_user_id(value):
    """A ``str`` of 1 to 255 characters without control characters or lone
    surrogates (PostgreSQL refuses NUL, no database stores a surrogate)."""
    return isinstance(value, str) and USER_ID.fullmatch(value) is not None
