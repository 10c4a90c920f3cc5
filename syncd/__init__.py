"""syncd: email-and-calendar sync daemon for CRM teams."""

from __future__ import annotations

__version__ = "0.1.0"
