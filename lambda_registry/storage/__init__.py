"""Our storage: the tables (``tables``), the engine (``engine``), and how a
request reads and writes (``access``).

Host code that writes through our store joins the same transaction::

    from lambda_registry.storage import get_database
    get_database(request.registry).write(request, lambda db: ...)
"""

from ..settings import get_settings
from .database import Database, HostSessionDatabase


def get_database(registry):
    return registry.lambda_registry_database


def includeme(config):
    settings = get_settings(config.registry)
    if settings.dbsession is not None:
        # The host's session: its connection and transaction are ours.
        database = HostSessionDatabase(settings.dbsession)
    else:
        database = Database.from_settings(settings)
    config.registry.lambda_registry_database = database
