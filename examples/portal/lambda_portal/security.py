"""The portal's own security policy: who signed in through its login form."""

from pyramid.authentication import SessionAuthenticationHelper
from pyramid.security import Allowed, Denied


class PortalSecurityPolicy:
    def __init__(self):
        self.helper = SessionAuthenticationHelper()

    def identity(self, request):
        return self.helper.authenticated_userid(request)

    def authenticated_userid(self, request):
        return self.identity(request)

    def permits(self, request, context, permission):
        return Allowed("signed in") if self.identity(request) else Denied("not signed in")

    def remember(self, request, userid, **kw):
        return self.helper.remember(request, userid, **kw)

    def forget(self, request, **kw):
        return self.helper.forget(request, **kw)
