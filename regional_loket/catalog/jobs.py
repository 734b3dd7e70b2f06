"""The daily drift check: the regional catalog compared with every municipality's own rows
(``flask catalog rebuild --check``'s walk, changing nothing). The run is recorded with its
counts; ``drifted`` > 0 is the alert on the administrators' health page, and
``flask catalog rebuild`` is the fix (the catalog is written in the same transaction as the
location, so drift means a bug or a hand-made change)."""

from __future__ import annotations

import logging

from flask import Flask

from .. import jobs
from ..extensions import db
from ..tenancy import services as tenancy_services
from . import mirror

log = logging.getLogger(__name__)

DRIFT_CHECK = "catalog-drift"


def check_catalog_drift() -> int:
    return check_catalog_drift_now(jobs.job_app())


def check_catalog_drift_now(app: Flask) -> int:
    """How many municipalities' catalog rows differ from their own (0: none)."""
    with app.app_context(), jobs.recorded(app, DRIFT_CHECK) as run:
        tenants = tenancy_services.list_tenants(db.session, include_archived=False)
        try:
            report = mirror.rebuild(db.session, tenants, fix=False)
        finally:
            db.session.rollback()  # a check: nothing is written, whatever happened
        drifted = [d for d in report if not d.clean]
        run.count("checked", len(report))
        run.count("drifted", len(drifted))
        for drift in drifted:
            run.count("missing", len(drift.missing))
            run.count("extra", len(drift.extra))
            run.count("different", len(drift.different))
            run.count("availability", drift.availability)
        if drifted:
            log.warning("catalog drift in %s (flask catalog rebuild fixes it)",
                        ", ".join(d.tenant for d in drifted))
        return len(drifted)
