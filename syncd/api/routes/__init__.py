"""Route modules, one per resource; ``ROUTERS`` is the one list the app mounts under ``/v1``.

To add a resource: write ``<resource>.py`` with a module-level ``router``
(``APIRouter(tags=[...], responses=PROBLEMS)``) and append the module here.
The order is the order of the OpenAPI document's paths.
"""

from __future__ import annotations

from fastapi import APIRouter

from syncd.api.routes import (
    accounts,
    changes,
    corrections,
    directory,
    directory_writes,
    explain,
    interactions,
    lead_actions,
    leads,
    logged,
    opportunities,
    reminder_actions,
    reminders,
    timeline,
    unmatched,
)

ROUTERS: tuple[APIRouter, ...] = (
    interactions.router,
    timeline.router,
    opportunities.router,
    reminders.router,
    unmatched.router,
    leads.router,
    directory.router,
    accounts.router,
    changes.router,
    explain.router,
    # writes (scope write, audited)
    directory_writes.router,
    corrections.router,
    logged.router,
    reminder_actions.router,
    lead_actions.router,
)
