"""How syncd writes times and other non-JSON values into its JSON documents.

One format for every JSON syncd emits (``/status``, ``/readyz``, ``syncd
status --format json``, ``syncd sync --format json``…): times are ISO-8601
in UTC with a ``Z`` suffix; naive datetimes are taken as UTC (SQLite keeps
naive UTC); anything else JSON cannot encode becomes its ``str()``.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_iso(moment: datetime | None) -> str | None:
    """``moment`` as ISO-8601 in UTC with a ``Z`` suffix; ``None`` stays ``None``."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # the store keeps naive UTC on SQLite
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_default(value: object) -> str | None:
    """``default=`` for :func:`json.dumps`: datetimes via :func:`utc_iso`, the rest ``str``."""
    if isinstance(value, datetime):
        return utc_iso(value)
    return str(value)
