"""A local stand-in for Microsoft Graph and the Microsoft identity platform."""

from __future__ import annotations

from tests.standins.graph.server import AUTHORITY_HOST, TENANT, GraphStandIn

__all__ = ["AUTHORITY_HOST", "TENANT", "GraphStandIn"]
