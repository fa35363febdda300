"""Reading ``Authorization: Token <token>`` and naming tokens without showing them."""

import hashlib
import hmac
import os
import re

# "Token", in any case, then one space or more, then the token itself.
TOKEN_HEADER = re.compile(r"^token +(\S+) *$", re.IGNORECASE)
# What an ~okeanos token can be: visible ASCII, at most 256 characters.
# Anything else is refused before any policy (or identity call) sees it.
POSSIBLE_TOKEN = re.compile(r"[\x21-\x7e]{1,256}")

# Per process: a token's key is useless outside it, so a dumped cache or a
# log line holding a key reveals nothing that can be replayed.
_PROCESS_KEY = os.urandom(32)


class Malformed:
    """The Authorization header is there, but holds no possible token."""

    def __repr__(self):
        return "MALFORMED"


MALFORMED = Malformed()


def is_possible_token(token):
    return POSSIBLE_TOKEN.fullmatch(token) is not None


def token_from_request(request):
    """The token of the Authorization header; None when there is no header,
    ``MALFORMED`` when the header holds no possible token."""
    header = request.headers.get("Authorization")
    if not header:
        return None
    match = TOKEN_HEADER.match(header)
    if match is None or not is_possible_token(match.group(1)):
        return MALFORMED
    return match.group(1)


def token_key(token):
    """A keyed hash of ``token``: what we keep and compare instead of the token."""
    return hmac.new(_PROCESS_KEY, token.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
