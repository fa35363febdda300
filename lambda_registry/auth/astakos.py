"""A client of the ~okeanos identity service (Synnefo's Astakos), token validation only."""

import datetime
import http.client
import json
import socket
import ssl
import threading
import time
import urllib.parse

from ..model.userids import is_valid_user_id

# Astakos' answer is a few KB; anything past this is not an answer we can use.
MAX_ANSWER_BYTES = 1024 * 1024

class IdentityUnavailable(Exception):
    """The identity service could not tell whether a token is valid.

    Its message names what went wrong (a status, an exception type), never
    the token.
    """


class AstakosClient:
    def __init__(self, identity_url, timeout):
        parts = urllib.parse.urlsplit(identity_url)
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.path = parts.path.rstrip("/") + "/tokens"
        self.timeout = timeout
        # Certificates and host names are always verified.
        self._tls = ssl.create_default_context() if self.scheme == "https" else None

    def _connection(self):
        if self._tls is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self._tls)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def validate(self, token):
        """``(user id or None, seconds until the token expires or None)``.

        None for the user means Astakos refused the token. Raises
        ``IdentityUnavailable`` when it cannot tell.
        """
        body = json.dumps({"auth": {"token": {"id": token}}}).encode("utf-8", "surrogatepass")
        deadline = time.monotonic() + self.timeout
        connection = self._connection()
        # Socket timeouts bound each read, not the call: a server that drips
        # its answer a byte at a time would outlast them. At the deadline the
        # watchdog shuts the socket, and the read under way fails at once.
        watchdog = threading.Timer(self.timeout, _shut, args=(connection,))
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request(
                "POST",
                self.path,
                body=body,
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
            # Connecting and sending spent part of the budget: the answer gets the rest.
            connection.sock.settimeout(max(0.001, deadline - time.monotonic()))
            response = connection.getresponse()
            payload = response.read(MAX_ANSWER_BYTES + 1)
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            # Timeouts, refused or dropped connections, TLS failures.
            raise IdentityUnavailable(f"identity call failed: {type(exc).__name__}") from None
        finally:
            watchdog.cancel()
            connection.close()
        if time.monotonic() > deadline:
            raise IdentityUnavailable("identity call took longer than the timeout")
        if status in (401, 404):
            return None, None
        if status != 200:
            raise IdentityUnavailable(f"identity service answered {status}")
        if len(payload) > MAX_ANSWER_BYTES:
            raise IdentityUnavailable("identity service answered more than we read")
        return self._parse(payload)

    @staticmethod
    def _parse(payload):
        """``(owner or None, seconds left or None)`` from a 200 answer.

        No user (Astakos answers an empty token so), an empty user id or an
        expiry already past: a refused token. A user id we could not store,
        or an answer that is not the expected JSON: we cannot tell.
        """
        try:
            access = json.loads(payload)["access"]
        except (ValueError, KeyError, TypeError, RecursionError):
            raise IdentityUnavailable("identity service answered 200 without an access object") from None
        if not isinstance(access, dict):
            raise IdentityUnavailable("identity service answered 200 without an access object")
        user = access.get("user")
        owner = user.get("id") if isinstance(user, dict) else None
        if owner is None or owner == "":
            return None, None
        if not is_valid_user_id(owner):
            raise IdentityUnavailable("identity service answered a user id we cannot use")
        token_info = access.get("token")
        expires = token_info.get("expires") if isinstance(token_info, dict) else None
        seconds_left = _seconds_until(expires)
        if seconds_left is not None and seconds_left <= 0:
            return None, None
        return owner, seconds_left


def _shut(connection):
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _seconds_until(expires):
    """Seconds from now to an ISO 8601 instant, or None when absent or unreadable."""
    if not isinstance(expires, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(expires.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return (moment - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
