"""Binding tenant tables to one municipality's schema for a unit of work.

Tenant tables are declared in the placeholder schema ``tenant``. Each ORM session carries the
schema it is bound to in ``session.info``; whenever the session begins a transaction, the
connection it uses gets a ``schema_translate_map`` for that schema. Execution options live on
the SQLAlchemy ``Connection`` object of this transaction, never on the pooled DBAPI connection,
so nothing can leak into the next request that draws the same connection from the pool (unlike
a session-level ``SET search_path``).

Deliberate cross-tenant work (a request with choices in three municipalities, written in one
transaction) goes through :func:`tenant_scope`, which flushes at its borders and refuses to
flush a row of one tenant while another is bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, scoped_session

from ..database import TENANT_PLACEHOLDER

_SCHEMA_KEY = "tenant_schema"
_ROW_SCHEMA_KEY = "tenant_schema"


class TenantMismatchError(RuntimeError):
    """A tenant row was about to be written while another tenant's schema was bound."""


def _translate_map(schema: str | None) -> dict:
    # Without a tenant the placeholder stays as it is: "tenant.x" does not exist, so the
    # statement fails instead of silently reading some default schema.
    return {TENANT_PLACEHOLDER: schema} if schema else {}


def bound_schema(session: Session) -> str | None:
    return session.info.get(_SCHEMA_KEY)


def bind_tenant(session: Session, tenant) -> None:
    """Bind ``session`` to ``tenant``'s schema (or unbind with ``None``) from now on.

    Used by the host resolver (once per request) and by jobs (once per job).
    """
    _apply(session, tenant.schema if tenant is not None else None)


@contextmanager
def tenant_scope(session: Session, tenant) -> Iterator[Session]:
    """Work on ``tenant``'s rows inside the current transaction, then return to the previous
    binding. The one sanctioned way to touch several tenants in one transaction."""
    previous = bound_schema(session)
    session.flush()
    _apply(session, tenant.schema)
    try:
        yield session
        session.flush()
    finally:
        _apply(session, previous)


def _apply(session: Session, schema: str | None) -> None:
    if isinstance(session, scoped_session):
        session = session()
    session.info[_SCHEMA_KEY] = schema
    # The innermost transaction decides: after a failed flush it is inactive, and the
    # binding must not mask the original error by touching the connection.
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is not None and transaction.is_active:
        # A transaction under way keeps its connection: retarget it in place. This changes
        # that SQLAlchemy Connection object only, never the pooled DBAPI connection.
        session.connection().execution_options(schema_translate_map=_translate_map(schema))


def _is_tenant_row(state) -> bool:
    table = getattr(state.mapper, "local_table", None)
    return table is not None and table.schema == TENANT_PLACEHOLDER


@event.listens_for(Session, "after_begin")
def _bind_new_transaction(session, transaction, connection) -> None:
    connection.execution_options(schema_translate_map=_translate_map(bound_schema(session)))


@event.listens_for(Session, "do_orm_execute")
def _bind_statement(orm_execute_state) -> None:
    # Per statement as well: sessions that share one connection (a test's outer transaction)
    # must each keep their own tenant.
    schema = bound_schema(orm_execute_state.session)
    orm_execute_state.update_execution_options(schema_translate_map=_translate_map(schema))


@event.listens_for(Session, "loaded_as_persistent")
def _remember_row_schema(session, instance) -> None:
    state = inspect(instance)
    if _is_tenant_row(state):
        state.info[_ROW_SCHEMA_KEY] = bound_schema(session)


@event.listens_for(Session, "before_flush")
def _refuse_cross_tenant_writes(session, flush_context, instances) -> None:
    schema = bound_schema(session)
    session.connection().execution_options(schema_translate_map=_translate_map(schema))
    for instance in session.new:
        state = inspect(instance)
        if _is_tenant_row(state):
            if schema is None:
                raise TenantMismatchError(f"{state.class_.__name__} added without a bound tenant")
            state.info[_ROW_SCHEMA_KEY] = schema
    for instance in list(session.dirty) + list(session.deleted):
        state = inspect(instance)
        if _is_tenant_row(state) and state.info.get(_ROW_SCHEMA_KEY) != schema:
            raise TenantMismatchError(
                f"{state.class_.__name__} of {state.info.get(_ROW_SCHEMA_KEY)!r} "
                f"written while {schema!r} is bound; use tenant_scope()"
            )
