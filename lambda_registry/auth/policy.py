"""What every token policy of ours shares: a Pyramid 2 security policy whose
identity is the owner id, looked up once per request."""

from pyramid.security import Allowed, Denied
from pyramid.request import RequestLocalCache

from .tokens import token_from_request


class TokenPolicy:
    """Base class: subclasses answer ``owner_for_token(token)`` (None if invalid)."""

    def __init__(self):
        self._cache = RequestLocalCache(self._load_identity)

    def owner_for_token(self, token):
        raise NotImplementedError

    def _load_identity(self, request):
        token = token_from_request(request)
        if token is None:
            return None
        return self.owner_for_token(token)

    # pyramid.interfaces.ISecurityPolicy
    def identity(self, request):
        return self._cache.get_or_create(request)

    def authenticated_userid(self, request):
        return self.identity(request)

    def permits(self, request, context, permission):
        # Every authenticated caller may use the API; records are scoped to
        # their owner by the queries themselves.
        if self.identity(request) is not None:
            return Allowed("authenticated")
        return Denied("no valid token")

    def remember(self, request, userid, **kw):
        return []

    def forget(self, request, **kw):
        return []
