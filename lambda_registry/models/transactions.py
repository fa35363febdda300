"""zope.sqlalchemy's session events, registered once on our session factory.

``zope.sqlalchemy.register(session, transaction_manager=…)`` adds seven
event listeners to every new session: a quarter of the cost of a small
request. Registered once on the sessionmaker instead, the events find each
session's own transaction manager (the request's ``request.tm``) in
``session.info``.
"""

from sqlalchemy import event
from transaction._transaction import Status
from zope.sqlalchemy.datamanager import STATUS_ACTIVE, join_transaction, mark_changed

TRANSACTION_MANAGER = "transaction_manager"


def _manager(session):
    return session.info[TRANSACTION_MANAGER]


def _after_begin(session, transaction, connection):
    join_transaction(session, STATUS_ACTIVE, _manager(session))


def _after_attach(session, instance):
    join_transaction(session, STATUS_ACTIVE, _manager(session))


def _after_flush(session, flush_context):
    mark_changed(session, _manager(session))


def _after_bulk(context):
    mark_changed(context.session, _manager(context.session))


def _before_commit(session):
    assert (
        session.in_nested_transaction() or _manager(session).get().status == Status.COMMITTING
    ), "Transaction must be committed using the transaction manager"


def _do_orm_execute(state):
    if state.is_orm_statement and (state.is_update or state.is_insert or state.is_delete):
        mark_changed(state.session, _manager(state.session))


def register_once(session_factory):
    event.listen(session_factory, "after_begin", _after_begin)
    event.listen(session_factory, "after_attach", _after_attach)
    event.listen(session_factory, "after_flush", _after_flush)
    event.listen(session_factory, "after_bulk_update", _after_bulk)
    event.listen(session_factory, "after_bulk_delete", _after_bulk)
    event.listen(session_factory, "before_commit", _before_commit)
    event.listen(session_factory, "do_orm_execute", _do_orm_execute)


def changed(session):
    """Tell the transaction this session wrote (ORM-enabled DML is seen anyway)."""
    manager = session.info.get(TRANSACTION_MANAGER)
    if manager is None:  # a host's session, registered by the host
        mark_changed(session)
    else:
        mark_changed(session, manager)
