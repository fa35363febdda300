"""The console scripts (``initialize_lambda_registry_db``, ``lambda_registry``),
and what both do when something outside them fails: one line on stderr
naming the cause (never a password), a non-zero exit code, no traceback."""

import importlib.metadata
import os
import sys

from pyramid.exceptions import ConfigurationError
import sqlalchemy.exc

from ..storage.failures import DatabaseUnavailable

VERSION = importlib.metadata.version("lambda_registry")
# Exit codes: 1 the database failed us, 2 the command or its configuration is wrong.
DATABASE_FAILED, BAD_CONFIGURATION = 1, 2


def add_version(parser):
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")


def first_line(exc):
    """The first line of what an error says (a driver's message can run to a page)."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip()


def cause_of(exc):
    """The driver's own words for a database failure, not our wrapper's."""
    while exc.__cause__ is not None and isinstance(exc, (DatabaseUnavailable, sqlalchemy.exc.StatementError)):
        exc = exc.__cause__
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig
    return first_line(exc)


def run(program, work, where=None):
    """``work()``'s exit code; an operator's error as one line and its exit code.
    ``where()`` names the database (password hidden) for a database failure."""
    try:
        return work()
    except BrokenPipeError:
        # The reader stopped early (`| head`): nothing went wrong here. Python
        # would complain again when it flushes stdout at exit: point it elsewhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (DatabaseUnavailable, sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
        place = f" {where()}" if where is not None else ""
        print(f"{program}: cannot use the database{place}: {cause_of(exc)}", file=sys.stderr)
        return DATABASE_FAILED
    except (ConfigurationError, FileNotFoundError) as exc:
        print(f"{program}: {first_line(exc)}", file=sys.stderr)
        return BAD_CONFIGURATION
    except KeyboardInterrupt:
        print(f"{program}: interrupted", file=sys.stderr)
        return 130
