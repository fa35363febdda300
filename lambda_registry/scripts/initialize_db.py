"""``initialize_lambda_registry_db CONFIG_URI``: bring the schema to the newest revision, and say what it did."""

import argparse
import sys

from pyramid.paster import get_appsettings, setup_logging

from ..settings import database_url, parse_settings
from ..storage import describe_database
from ..storage.migrate import current_revision, newest_revision, upgrade
from . import add_version, run

PROGRAM = "initialize_lambda_registry_db"


def main(argv=None, out=None):
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Create or upgrade the lambda_registry schema (running it twice is harmless).",
    )
    parser.add_argument("config_uri", help="the .ini file, e.g. development.ini")
    add_version(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    out = sys.stdout if out is None else out
    where = {}

    def work():
        setup_logging(args.config_uri)
        settings = get_appsettings(args.config_uri)
        url = database_url(settings)
        where["database"] = describe_database(parse_settings(settings))
        before, newest = current_revision(url), newest_revision(url)
        upgrade(url)
        if before is None:
            print(f"lambda_registry: created the schema at revision {newest} in {where['database']}", file=out)
        elif before != newest:
            print(f"lambda_registry: upgraded the schema from revision {before} to {newest} in {where['database']}",
                  file=out)
        else:
            print(f"lambda_registry: the schema is already at revision {newest} (the newest) in {where['database']}",
                  file=out)
        return 0

    return run(PROGRAM, work, lambda: where.get("database", ""))


if __name__ == "__main__":
    sys.exit(main())
