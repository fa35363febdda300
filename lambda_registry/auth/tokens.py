"""Reading ``Authorization: Token <token>`` and naming tokens without showing them."""

import hashlib
import hmac
import os
import re

# "Token", in any case, then one space or more, then the token itself.
TOKEN_HEADER = re.compile(r"^token +(\S+) *$", re.IGNORECASE)

# Per process: a token's key is useless outside it, so a dumped cache or a
# log line holding a key reveals nothing that can be replayed.
_PROCESS_KEY = os.urandom(32)


def token_from_request(request):
    """The token of the Authorization header, or None when absent or malformed."""
    header = request.headers.get("Authorization")
    if not header:
        return None
    match = TOKEN_HEADER.match(header)
    return match.group(1) if match else None


def token_key(token):
    """A keyed hash of ``token``: what we keep and compare instead of the token."""
    return hmac.new(_PROCESS_KEY, token.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
