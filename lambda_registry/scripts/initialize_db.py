"""``initialize_lambda_registry_db CONFIG_URI``: bring the schema to the newest revision."""

import argparse
import sys

from pyramid.paster import get_appsettings, setup_logging

from ..storage.migrate import upgrade
from ..settings import database_url


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="initialize_lambda_registry_db",
        description="Create or upgrade the lambda_registry schema (running it twice is harmless).",
    )
    parser.add_argument("config_uri", help="the .ini file, e.g. development.ini")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging(args.config_uri)
    settings = get_appsettings(args.config_uri)
    upgrade(database_url(settings))
    print("lambda_registry: the database schema is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
