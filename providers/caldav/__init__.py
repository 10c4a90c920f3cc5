"""CalDAV calendars (RFC 4791) synced incrementally with RFC 6578 sync tokens.

See :mod:`providers.caldav.provider` for the sync state machine and the
provider-id scheme, :mod:`providers.caldav.cursor` for the cursor.

Exports resolve lazily (see :mod:`providers.lazy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.lazy import lazy_exports

if TYPE_CHECKING:
    from providers.caldav.provider import CaldavProvider

__all__ = ["CaldavProvider"]

__getattr__ = lazy_exports(__name__, {
    "CaldavProvider": "providers.caldav.provider",
})
