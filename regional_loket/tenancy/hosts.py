"""Which hosts a route serves, declared once per blueprint (a view may override it) and
enforced in one place, the host resolver (:func:`regional_loket.tenancy._resolve_request`).

- ``serves(bp, Hosts.REGION)`` for a blueprint whose pages all live on the regional portal,
  ``Hosts.MUNICIPALITY`` for a municipal back office, ``Hosts.ALL`` for pages on every host.
- ``@only_on(Hosts.REGION, elsewhere=fn)`` on a view of a blueprint that serves more hosts.
  ``elsewhere`` answers on the other hosts instead of a 404 (the login pages send a visitor on
  a municipal host to the region's, keeping where they came from).

A route that declares nothing is served nowhere (404, logged): ``tests/test_hosts.py`` fails for
it before it can reach production.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from werkzeug.wrappers import Response


class Hosts(enum.Flag):
    REGION = enum.auto()  # the bare host: the regional portal
    MUNICIPALITY = enum.auto()  # a municipality's subdomain or custom domain
    ALL = REGION | MUNICIPALITY


@dataclass(frozen=True)
class HostRule:
    hosts: Hosts
    elsewhere: Callable[[], Response] | None = None  # the answer on other hosts (default 404)

    def admits(self, tenant) -> bool:
        return (Hosts.REGION if tenant is None else Hosts.MUNICIPALITY) in self.hosts


def serves(blueprint, hosts: Hosts):
    """Declare the hosts every view of ``blueprint`` serves (unless a view says otherwise)."""
    blueprint.host_rule = HostRule(Hosts(hosts))
    return blueprint


def only_on(hosts: Hosts, *, elsewhere: Callable[[], Response] | None = None):
    """Declare the hosts one view serves, overriding its blueprint's declaration."""

    def decorator(view):
        view.host_rule = HostRule(Hosts(hosts), elsewhere)
        return view

    return decorator


def rule_for(app: Flask, endpoint: str) -> HostRule | None:
    """The declaration that applies to ``endpoint``: its view's, else its blueprint's (the
    innermost of nested blueprints first), else none."""
    rule = getattr(app.view_functions.get(endpoint), "host_rule", None)
    blueprint = endpoint.rpartition(".")[0]
    while rule is None and blueprint:
        rule = getattr(app.blueprints.get(blueprint), "host_rule", None)
        blueprint = blueprint.rpartition(".")[0]
    return rule
