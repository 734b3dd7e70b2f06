"""Demo accounts, one per role, printed with their password by ``flask demo load``."""

from __future__ import annotations

from ..database import utcnow
from ..demo import register
from ..tenancy import services as tenancy_services
from . import services
from .models import Role

DEMO_PASSWORD = "kinderopvang-demo-2026"
DOMAIN = "demo-loket.be"


def demo_accounts() -> list[dict]:
    """Who the demo region has; later domains (locations) extend the staff memberships."""
    return [
        {"email": f"admin@{DOMAIN}", "name": "Ilse Regiobeheer", "role": Role.ADMIN},
        {"email": f"coordinator.herent@{DOMAIN}", "name": "Koen Coördinator", "role": Role.COORDINATOR, "tenant": "herent"},
        {"email": f"coordinator.leuven@{DOMAIN}", "name": "Lotte Coördinator", "role": Role.COORDINATOR, "tenant": "leuven"},
        {"email": f"opvang.herent@{DOMAIN}", "name": "Sara Kinderdagverblijf", "role": Role.PROVIDER_STAFF, "tenant": "herent"},
        {"email": f"toeleider@{DOMAIN}", "name": "Yusuf Toeleider", "role": Role.REFERRER, "organisation": "OCMW Leuven"},
        {"email": f"ouder@{DOMAIN}", "name": "An Peeters", "role": Role.PARENT},
        {"email": f"parent.fr@{DOMAIN}", "name": "Claire Dubois", "role": Role.PARENT, "language": "fr"},
    ]


@register("accounts")
def load(session, definitions, echo) -> None:
    echo(f"demo accounts (password for all: {DEMO_PASSWORD}):")
    for spec in demo_accounts():
        user, created = services.register(
            session, email=spec["email"], password=DEMO_PASSWORD, name=spec["name"],
            language=spec.get("language", "nl"),
        )
        if user.verified_at is None:
            user.verified_at = utcnow()
        tenant = tenancy_services.get_tenant(session, spec["tenant"]) if spec.get("tenant") else None
        if spec.get("tenant") and tenant is None:
            continue  # that municipality is not in this region's definitions
        if spec["role"] != Role.PARENT:
            services.grant(session, user, spec["role"], tenant=tenant, organisation=spec.get("organisation"))
        where = f" ({spec['tenant']})" if spec.get("tenant") else ""
        echo(f"  {spec['role']:<15} {spec['email']}{where}")
