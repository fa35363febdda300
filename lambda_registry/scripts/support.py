"""``lambda_registry CONFIG_URI COMMAND``: support and upkeep from the command line
(``EXAMPLES`` below; ``lambda_registry --help`` prints them).

A purge also forgets the deletions the changes feed remembers for longer
than ``lambda_registry.changes.tombstone_days`` (and the instances it
removes leave deletions there, so that followers of the feed learn of them).

The database is the one the ini file's application serves (with
``LAMBDA_REGISTRY_DATABASE_URL`` over it, as there). Records are read and
written through the same store as the API's (``storage/record_store.py``),
so a purge keeps every count exact: the records it removes leave the
counts as an API delete would (``created`` counts the records the registry
holds, destroyed ones included, so it falls by as many).
"""

import argparse
import datetime
import json
import sys

from pyramid.paster import get_appsettings, setup_logging

from ..counts import Counts
from ..model.kinds import KINDS, utcnow
from ..model.statuses import DESTROYED
from ..model.userids import is_valid_user_id
from ..settings import parse_settings
from ..storage import describe_database
from ..storage.changes import TombstoneUpkeep
from ..storage.database import Database
from ..storage.record_store import RecordStore
from . import add_version, run

PROG = "lambda_registry"
DESCRIPTION = "Support and upkeep of a lambda_registry database from the command line."
EXAMPLES = """examples:
  lambda_registry production.ini list USER_ID       a user's records, one line each
  lambda_registry production.ini export USER_ID     the same, as JSON lines, with their histories
  lambda_registry production.ini purge --older-than-days 90           what a purge would remove
  lambda_registry production.ini purge --older-than-days 90 --apply   remove it"""
PAGE = 500  # records read, or purged, per statement (and per transaction)
MAX_DAYS = 36_600  # a century: further back than any record, and within what dates can say
KINDS_BY_NAME = {kind.plural: kind for kind in KINDS}


class Registry:
    """The records of the application an ini file configures, outside any server."""

    def __init__(self, config_uri):
        settings = parse_settings(get_appsettings(config_uri))
        if settings.dbsession is not None:
            raise SystemExit(f"{config_uri} uses its host's session (lambda_registry.dbsession): "
                             "name the host's database with lambda_registry.sqlalchemy.url for this command")
        self.description = describe_database(settings)
        self.database = Database.from_settings(settings)
        self.counts = Counts(self.database, cache_seconds=0, fold_every=settings.count_fold_every)
        self.stores = {kind.plural: RecordStore(kind, self.counts) for kind in KINDS}
        self.tombstone_days = settings.changes_tombstone_days
        self.tombstones = TombstoneUpkeep()

    def records(self, owner, kinds):
        """(kind, record with its history) of every record of ``owner``, oldest first, kind by kind."""
        for name in kinds:
            store = self.stores[name]
            offset = 0
            while True:
                with self.database.read(None) as executor:
                    rows = store.page(executor, owner, None, PAGE, offset)
                    found = [store.details(executor, owner, row.uuid) for row in rows]
                for details in found:
                    if details is not None:  # deleted since the page was read
                        row, history = details
                        record = store.kind.answer(row)
                        record["history"] = [store.kind.history_answer(entry) for entry in history]
                        yield name, record
                if len(rows) < PAGE:
                    break
                offset += PAGE

    def purge(self, before, apply):
        """How many destroyed instances unchanged since ``before`` there are
        (``apply``: removed, with their histories, a batch per transaction)."""
        store = self.stores["instances"]
        if not apply:
            with self.database.read(None) as executor:
                return store.count_stale(executor, DESTROYED, before)
        removed = 0
        while True:
            def batch(executor):
                rows = store.stale(executor, DESTROYED, before, PAGE)
                for row in rows:
                    store.delete(executor, row.owner, row)
                return {row.owner for row in rows}, len(rows)

            owners, done = self.database.write(None, batch)
            for owner in owners:  # committed: followers of the feed may learn of the deletions now
                self.database.announce(store.kind.key, owner)
            removed += done
            if done < PAGE:
                return removed

    def forget_tombstones(self, apply, now=None):
        """How many deletions the changes feed has kept longer than
        tombstone_days (``apply``: forgotten); and since when they count as old."""
        before = (now or utcnow()) - datetime.timedelta(days=min(self.tombstone_days, MAX_DAYS))
        if not apply:
            with self.database.read(None) as executor:
                return self.tombstones.count_old(executor, before), before
        return self.database.write(None, lambda executor: self.tombstones.forget_old(executor, before)), before

    def close(self):
        self.database.dispose()


def _owner(text):
    if not is_valid_user_id(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a user id")
    return text


def _days(text):
    try:
        days = float(text)
    except ValueError:
        days = -1
    if not 0 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days from 0 to {MAX_DAYS}")
    return days


def parser():
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_version(parser)
    parser.add_argument("config_uri", help="the .ini file of the application, e.g. production.ini")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("list", "a user's records, one line each: kind, uuid, status, updated_at, name"),
                       ("export", "a user's records as JSON lines, each with its kind and history")):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("owner", type=_owner, metavar="USER_ID", help="the user's ~okeanos id")
        command.add_argument("--kind", choices=sorted(KINDS_BY_NAME), action="append",
                             help="only these records (repeatable; default: both kinds)")
    purge = commands.add_parser(
        "purge", help="remove destroyed instances (and their histories) unchanged for some days",
        description="Remove destroyed instances, with their histories, destroyed more than the given "
                    "days ago. Without --apply, only says how many there are.")
    purge.add_argument("--older-than-days", type=_days, required=True, metavar="DAYS")
    purge.add_argument("--apply", action="store_true", help="remove them (default: a dry run that changes nothing)")
    return parser


def main(argv=None, out=None):
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    out = sys.stdout if out is None else out
    where = {}

    def work():
        setup_logging(args.config_uri)
        registry = Registry(args.config_uri)
        where["database"] = registry.description
        try:
            return command(args, registry, out)
        finally:
            registry.close()

    return run(PROG, work, lambda: where.get("database", ""))


def command(args, registry, out):
    """Run the parsed command on ``registry``; its exit code."""
    if args.command == "purge":
        before = utcnow() - datetime.timedelta(days=args.older_than_days)
        count = registry.purge(before, args.apply)
        verb = "removed" if args.apply else "would remove (dry run: add --apply)"
        print(f"lambda_registry: {verb} {count} destroyed instance(s) unchanged since "
              f"{before.isoformat(timespec='seconds')}Z", file=out)
        # After the purge: the deletions it just left are new, and stay.
        forgotten, old = registry.forget_tombstones(args.apply)
        verb = "forgot" if args.apply else "would forget"
        print(f"lambda_registry: {verb} {forgotten} deletion(s) the changes feed kept since before "
              f"{old.isoformat(timespec='seconds')}Z (lambda_registry.changes.tombstone_days)", file=out)
        return 0
    kinds = args.kind or sorted(KINDS_BY_NAME, reverse=True)  # instances, then applications
    for kind, record in registry.records(args.owner, kinds):
        if args.command == "export":
            # ASCII: a lone surrogate the API stored as an escape cannot be
            # encoded, and a control character must not reach a terminal raw.
            out.write(json.dumps({"kind": kind, **record}) + "\n")
        else:
            out.write("\t".join([kind, record["uuid"], record["status_name"], record["updated_at"],
                                 record["name"]]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
