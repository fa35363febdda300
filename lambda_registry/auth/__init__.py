"""Who the caller is: the policy named by ``lambda_registry.auth``, or the host's.

``static`` and ``okeanos`` are ours; any other value is a dotted
``package.module:factory``. A factory is called once with the Pyramid
registry and returns a Pyramid 2 security policy whose
``authenticated_userid(request)`` is the owner of the records.
"""

from pyramid.exceptions import ConfigurationError

from ..components import get_components
from ..settings import get_settings
from ..web.envelope import unauthorized
from ..model.userids import is_valid_user_id

SETTING = "lambda_registry.auth"
BUILTIN_POLICIES = {
    "static": "lambda_registry.auth.static:factory",
    "okeanos": "lambda_registry.auth.okeanos:factory",
}


def load_policy(config, name):
    dotted = BUILTIN_POLICIES.get(name, name)
    if ":" not in dotted:
        raise ConfigurationError(
            f"{SETTING} = {name!r}: expected one of {sorted(BUILTIN_POLICIES)} "
            "or a dotted 'package.module:factory'"
        )
    try:
        factory = config.maybe_dotted(dotted)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(f"{SETTING} = {name!r} cannot be loaded: {exc}") from exc
    if not callable(factory):
        raise ConfigurationError(f"{SETTING} = {name!r} is not callable")
    policy = factory(config.registry)
    if not callable(getattr(policy, "authenticated_userid", None)):
        raise ConfigurationError(
            f"{SETTING} = {name!r} did not give a security policy "
            "(no authenticated_userid method)"
        )
    return policy


def request_owner(request):
    """The owner id of the caller, or None: our policy decides, or the host's.

    Only a user id we can store is a user: a host identity of ``""``,
    ``False``, ``0`` or ``123`` (not a string) is nobody, never the owner
    ``"False"`` or ``"123"``.
    """
    policy = get_components(request.registry).policy
    if policy is None:
        userid = request.authenticated_userid
    else:
        userid = policy.authenticated_userid(request)
    return userid if is_valid_user_id(userid) else None


def identify_owner(request, **kwargs):
    """Cornice validator: the caller must be known, else 401."""
    owner = request_owner(request)
    if owner is None:
        raise unauthorized()
    request.validated["owner"] = owner


def policy_for(config):
    """The policy ``lambda_registry.auth`` names, or None (the host's decides)."""
    name = get_settings(config.registry).auth
    return None if name is None else load_policy(config, name)
