"""CalDAV calendars (RFC 4791) synced incrementally with RFC 6578 sync tokens.

See :mod:`providers.caldav.provider` for the sync state machine and the
provider-id scheme, :mod:`providers.caldav.cursor` for the cursor.
"""

from __future__ import annotations

from providers.caldav.provider import CaldavProvider

__all__ = ["CaldavProvider"]
