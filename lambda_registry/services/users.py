"""Users (SPEC.md "Users"): the caller's id, and how many users the registry has seen."""

from ..auth import identify_owner
from ..web.envelope import success
from ..web.openapi import Answer
from ..web.schemas import component_ref
from . import RegistryService

AUTHENTICATED = "Authenticated."
COUNTED = "Lambda users count."


def services(registry):
    seen_users = registry.lambda_registry_seen_users
    authenticate = RegistryService("authenticate", "/api/authenticate", "users")
    users_count = RegistryService("user_count", "/api/users/count", "users")

    def whoami(request):
        # Every time: a service VM calls this when its user logs in.
        owner = request.validated["owner"]
        seen_users.seen(request, owner, always=True)
        return success(200, AUTHENTICATED, [{"id": owner}])

    def count_users(request):
        return success(200, COUNTED, {"count": str(seen_users.count(request))})

    authenticate.add_view("GET", whoami, validators=(identify_owner,), answer=Answer(
        "authenticate", 200, AUTHENTICATED, "AuthenticatedAnswer",
        {"type": "array", "minItems": 1, "maxItems": 1, "items": component_ref("UserId")}))
    users_count.add_view("GET", count_users, answer=Answer(
        "count_users", 200, COUNTED, "UserCountAnswer", component_ref("UserCount")))
    return [authenticate, users_count]
