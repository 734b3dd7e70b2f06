"""The blueprint of the operational endpoints (``/healthz``, ``/readyz``, ``/metrics``): served on
every host, and answered before the tenant is resolved (``health.answer_early``), so a probe
or scrape addressed to the node's IP address works and costs no lookup of the host."""

from flask import Blueprint

from ..tenancy import Hosts, serves

bp = Blueprint("observability", __name__)
serves(bp, Hosts.ALL)
