"""What a user id (the owner of records) may be, whoever vouches for it.

The same rule for the identity service's answers, a host application's
identities and the static tokens: a non-empty string that fits the owner
columns and that every database can store.
"""

import unicodedata

USER_ID_MAX = 255


def is_valid_user_id(value):
    """A ``str`` of 1 to 255 characters without control characters or lone
    surrogates (PostgreSQL refuses NUL, no database stores a surrogate)."""
    return (
        isinstance(value, str)
        and 1 <= len(value) <= USER_ID_MAX
        and not any(unicodedata.category(char) in ("Cc", "Cs") for char in value)
    )
