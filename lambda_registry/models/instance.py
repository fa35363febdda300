"""The stored records: Lambda instances, their status history and the counters."""

import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.userids import USER_ID_MAX
from .meta import Base


def utcnow():
    # Stored naive, always UTC: SQLite has no time zones.
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class LambdaInstance(Base):
    """One Lambda cluster as its owner's service VM reported it."""

    __tablename__ = "lambda_instances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The identity the auth policy gave (the ~okeanos user id).
    owner: Mapped[str] = mapped_column(String(USER_ID_MAX), nullable=False)
    # Lower-case hyphenated; unique per owner only, so that another user may
    # register the same uuid without learning that it exists.
    uuid: Mapped[str] = mapped_column(String(36), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    # The compact JSON encoding of an object, stored as text: it is never
    # queried, and text keeps what jsonb would refuse (\u0000).
    instance_info: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    failure_message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)

    history: Mapped[list["StatusChange"]] = relationship(
        back_populates="instance", order_by="StatusChange.id", lazy="raise"
    )

    __table_args__ = (
        UniqueConstraint("owner", "uuid", name="uq_lambda_instances_owner_uuid"),
        # The owner's list, oldest first, ties by uuid.
        Index("ix_lambda_instances_owner_created", "owner", "created_at", "uuid"),
        # The owner's list filtered by status.
        Index("ix_lambda_instances_owner_status", "owner", "status"),
    )


class StatusChange(Base):
    """One status an instance has had, in the order they came."""

    __tablename__ = "lambda_instance_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("lambda_instances.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    failure_message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)

    instance: Mapped[LambdaInstance] = relationship(back_populates="history")

    __table_args__ = (Index("ix_lambda_instance_status_changes_instance", "instance_id", "id"),)


class StatusCount(Base):
    """How many records have each status, kept in the transaction that changes them.

    The public count is polled by every open landing page: summing 24 rows
    costs the same at a thousand records and at a million, where a
    ``count(*)`` over the records would grow with them.
    """

    __tablename__ = "lambda_instance_status_counts"

    status: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    records: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class OwnerStatusCount(Base):
    """How many records of one owner have each status, kept like ``StatusCount``.

    The list's pagination gives the owner's total: summing at most 24 rows
    keeps that flat for an owner with a million records.
    """

    __tablename__ = "lambda_instance_owner_counts"

    owner: Mapped[str] = mapped_column(String(USER_ID_MAX), primary_key=True)
    status: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    records: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
