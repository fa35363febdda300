"""Every setting of lambda_registry, its default, and how it is checked.

Settings are read once, at start-up, into a frozen ``RegistrySettings`` kept on
the registry; a bad value fails there with a ``ConfigurationError`` naming the
setting, never later on a request.
"""

import dataclasses
import os

from pyramid.exceptions import ConfigurationError

from .components import get_components

PREFIX = "lambda_registry."
DEFAULT_IDENTITY_URL = "https://accounts.okeanos.grnet.gr/identity/v2.0"

# Environment variables that override settings in deployments.
DATABASE_URL_VARIABLE = "LAMBDA_REGISTRY_DATABASE_URL"
ENVIRONMENT_OVERRIDES = {
    # A fake or staging identity service for trials of production.ini.
    "LAMBDA_REGISTRY_IDENTITY_URL": "okeanos.identity_url",
}


def _number(kind, minimum, exclusive, what):
    """A parser of whole (``int``) or real (``float``) numbers above a bound."""

    def parse(name, value):
        try:
            number = kind(str(value).strip())
        except ValueError:
            number = None
        # NaN and infinity fail these comparisons too.
        valid = number is not None and number < float("inf") and (
            number > minimum if exclusive else number >= minimum
        )
        if not valid:
            raise ConfigurationError(f"{name} must be {what}, not {value!r}")
        return number

    return parse


_positive_int = _number(int, 0, True, "a positive integer")
_non_negative_int = _number(int, 0, False, "an integer >= 0")
_positive_float = _number(float, 0, True, "a positive number of seconds")
_non_negative_float = _number(float, 0, False, "a number of seconds >= 0")


def _boolean(name, value):
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise ConfigurationError(f"{name} must be true or false, not {value!r}")


def _text(name, value):
    return str(value).strip()


def _optional_text(name, value):
    value = str(value).strip() if value is not None else ""
    return value or None


def _origins(name, value):
    """Space-separated origins (scheme://host[:port]), or ``*``."""
    value = str(value or "").strip()
    if value == "*":
        return "*"
    origins = frozenset(origin.rstrip("/") for origin in value.split())
    for origin in origins:
        scheme, _, host = origin.partition("://")
        if scheme not in ("http", "https") or not host or "/" in host:
            raise ConfigurationError(f"{name}: {origin!r} is not an origin (scheme://host[:port]), nor *")
    return origins


def _http_url(name, value):
    value = str(value).strip().rstrip("/")
    if not value.startswith(("https://", "http://")):
        raise ConfigurationError(f"{name} must be an http(s) URL, not {value!r}")
    return value


# name (after the prefix) -> (default, parser); the one table of every setting.
SETTINGS = {
    "auth": (None, _optional_text),
    "static_tokens": ("", _text),
    "okeanos.identity_url": (DEFAULT_IDENTITY_URL, _http_url),
    "okeanos.timeout": ("5", _positive_float),
    "okeanos.cache_ttl": ("300", _non_negative_int),
    "okeanos.cache_size": ("10000", _positive_int),
    "okeanos.max_concurrent_checks": ("4", _positive_int),
    "max_page_size": ("1000", _positive_int),
    "max_body_bytes": ("65536", _positive_int),
    "db_timeout": ("5", _positive_float),
    # Database connections a process keeps: at least the server's threads
    # (production.ini's waitress and gunicorn's --threads), or requests past
    # the pool open and close a connection each. Overflow: opened for a
    # burst, closed when given back.
    "pool_size": ("8", _positive_int),
    "pool_overflow": ("8", _non_negative_int),
    # How many times a write is run when the database says try again
    # (deadlock, serialization failure).
    "retry_attempts": ("3", _positive_int),
    "count_cache_seconds": ("1", _non_negative_float),
    # Every how many of a process's writes the count changes are folded
    # into the totals (counts.py): fewer folds, more rows for a count to sum.
    "count_fold_every": ("256", _positive_int),
    # A host's own session (the name of a request attribute), to share its
    # connection and transaction instead of opening ours.
    "dbsession": (None, _optional_text),
    # Origins allowed to call the token endpoints from a browser (or "*").
    "cors_origins": ("", _origins),
    # The landing page and /api/docs; main() makes it true standalone.
    "pages": ("false", _boolean),
    # How often an open landing page refreshes its figures (0: never).
    "pages.refresh_seconds": ("30", _non_negative_float),
    # /__metrics__ (Prometheus) and the metrics the request path records.
    "metrics": ("false", _boolean),
    # Changes requests that may wait for a change at once, per process: each
    # holds a server thread while it waits (0: none ever waits).
    "changes.max_waiting": ("2", _non_negative_int),
    # Days a deletion stays in the changes feed (the purge command forgets older ones).
    "changes.tombstone_days": ("30", _positive_float),
}


@dataclasses.dataclass(frozen=True)
class RegistrySettings:
    database_url: str | None
    auth: str | None
    static_tokens: str
    okeanos_identity_url: str
    okeanos_timeout: float
    okeanos_cache_ttl: int
    okeanos_cache_size: int
    okeanos_max_concurrent_checks: int
    max_page_size: int
    max_body_bytes: int
    db_timeout: float
    pool_size: int
    pool_overflow: int
    retry_attempts: int
    count_cache_seconds: float
    count_fold_every: int
    dbsession: str | None
    cors_origins: object  # frozenset of origins, or "*"
    pages: bool
    pages_refresh_seconds: float
    metrics: bool
    changes_max_waiting: int
    changes_tombstone_days: float


def database_url(settings, environ=os.environ, required=True):
    """The database of our tables.

    The environment variable wins (production); then ``lambda_registry.sqlalchemy.url``
    for a host whose own database is another; then the app's ``sqlalchemy.url``.
    """
    url = (
        environ.get(DATABASE_URL_VARIABLE)
        or settings.get(PREFIX + "sqlalchemy.url")
        or settings.get("sqlalchemy.url")
    )
    if not url or not str(url).strip():
        if not required:
            return None
        raise ConfigurationError(
            "sqlalchemy.url is not set: lambda_registry needs a database "
            "(or set LAMBDA_REGISTRY_DATABASE_URL)"
        )
    return str(url).strip()


def parse_settings(settings, environ=os.environ):
    settings = dict(settings)
    for variable, name in ENVIRONMENT_OVERRIDES.items():
        if environ.get(variable):
            settings[PREFIX + name] = environ[variable]
    values = {}
    for name, (default, parser) in SETTINGS.items():
        raw = settings.get(PREFIX + name, default)
        values[name.replace(".", "_")] = None if raw is None else parser(PREFIX + name, raw)
    # With the host's session, the host's database is ours: no URL needed.
    url = database_url(settings, environ, required=values["dbsession"] is None)
    return RegistrySettings(database_url=url, **values)


def get_settings(registry) -> RegistrySettings:
    return get_components(registry).settings
