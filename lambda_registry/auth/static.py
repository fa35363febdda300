"""The ``static`` policy: tokens listed in ``lambda_registry.static_tokens``.

For development, tests and air-gapped trials. One ``TOKEN USER_ID`` pair a line.
"""

from pyramid.exceptions import ConfigurationError

from ..settings import get_settings
from .policy import TokenPolicy
from .tokens import is_possible_token, token_key
from ..model.userids import USER_ID_MAX, is_valid_user_id

SETTING = "lambda_registry.static_tokens"


def parse_static_tokens(text):
    """{token key: user id} from the setting's lines; a malformed line fails start-up."""
    owners = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            # The line is not repeated: it may hold a token.
            raise ConfigurationError(
                f"{SETTING}: line {number} must be 'TOKEN USER_ID' (two words)"
            )
        token, owner = parts
        if not is_possible_token(token):
            raise ConfigurationError(
                f"{SETTING}: line {number}: a token is 1 to 256 visible ASCII characters"
            )
        if not is_valid_user_id(owner):
            raise ConfigurationError(
                f"{SETTING}: line {number}: a user id is 1 to {USER_ID_MAX} characters, no control characters"
            )
        owners[token_key(token)] = owner
    return owners


class StaticTokenPolicy(TokenPolicy):
    def __init__(self, owners_by_key):
        super().__init__()
        self._owners = owners_by_key

    def owner_for_token(self, token):
        return self._owners.get(token_key(token))


def factory(registry):
    return StaticTokenPolicy(parse_static_tokens(get_settings(registry).static_tokens))
