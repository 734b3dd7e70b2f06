"""Database URLs and the shapes every model shares."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
from sqlalchemy import DateTime, Uuid, func
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Mapped, mapped_column

SHARED_SCHEMA = "shared"
# Tenant tables are declared in this placeholder schema and translated per unit of work
# (see regional_loket.tenancy.binding). No schema of this name exists, so a query that forgot
# to bind a tenant fails loudly instead of reading some other tenant's rows.
TENANT_PLACEHOLDER = "tenant"

# "The database is not there right now": stopped, restarting, unreachable, the connection lost
# mid-request, or every pooled connection busy for DATABASE_POOL_TIMEOUT (SQLAlchemy's
# TimeoutError). psycopg's own classes too, for code that talks to the driver directly. A web
# request answers these with 503 and Retry-After (web/errors.py), never a bug's 500.
DATABASE_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
                        psycopg.OperationalError, psycopg.InterfaceError)


def sqlalchemy_url(url: str) -> str:
    """Accept the usual ``postgres://`` / ``postgresql://`` forms and pin the psycopg 3 driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"only PostgreSQL is supported, not {parsed.get_backend_name()!r}")
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UUIDKey:
    """Tenant rows use UUID keys, so one ORM session can hold rows of several tenants."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )
