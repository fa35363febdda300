"""The portal's own table, in the same database, on its own session joined to
the same request transaction as the registry's."""

from sqlalchemy import Column, Integer, String, create_engine
from sqlalchemy.orm import declarative_base, sessionmaker
import zope.sqlalchemy

Base = declarative_base()


class AuditEntry(Base):
    __tablename__ = "portal_audit"

    id = Column(Integer, primary_key=True)
    user = Column(String(255), nullable=False)
    action = Column(String(255), nullable=False)


def create_portal_tables(engine):
    Base.metadata.create_all(engine)


def includeme(config):
    engine = create_engine(config.get_settings()["sqlalchemy.url"])
    create_portal_tables(engine)  # an example's shortcut; a real portal migrates
    factory = sessionmaker(bind=engine)
    config.registry.portal_engine = engine

    def portal_dbsession(request):
        session = factory()
        zope.sqlalchemy.register(session, transaction_manager=request.tm)
        request.add_finished_callback(lambda request: session.close())
        return session

    config.add_request_method(portal_dbsession, reify=True)
