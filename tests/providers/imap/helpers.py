"""Wiring the IMAP provider to the session's throwaway Dovecot."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from providers.base import Cursor, Page, ProviderContext
from providers.imap import ImapAccount, ImapProvider
from tests.fixtures.dovecot import DovecotServer, MailUser
from tests.generate import BASE_TIME, EventSpec

#: "today" for every IMAP test: backfill windows are anchored here, not on the clock
NOW = BASE_TIME + timedelta(days=20)


def account_for(user: MailUser, *, port: int | None = None, **overrides: Any) -> ImapAccount:
    settings: dict[str, Any] = {
        "id": f"imap-{user.name}", "owner": "rita@ourco.example", "provider": "imap",
        "host": "127.0.0.1", "port": port or user.server.port, "security": "plain",
        "username": user.name, "password": user.password, "connect_timeout": 5,
        "read_timeout": 10,
    }
    settings.update(overrides)
    return ImapAccount.model_validate(settings)


def provider_for(user: MailUser, *, privacy: str = "subject", port: int | None = None,
                 **overrides: Any) -> ImapProvider:
    context = ProviderContext(privacy=privacy, now=lambda: NOW)
    return ImapProvider(account_for(user, port=port, **overrides), context)


class DovecotBackend:
    """The contract suite's Backend: a fresh Dovecot user per test."""

    def __init__(self, server: DovecotServer, **overrides: Any) -> None:
        self.user = server.new_user()
        self.overrides = overrides

    def provider(self) -> ImapProvider:
        return provider_for(self.user, **self.overrides)

    def add_message(self, raw: bytes) -> bytes:
        """Deliver ``raw``; it is also the handle (its Message-ID finds it on the server)."""
        self.user.deliver(raw)
        return raw

    def add_event(self, spec: EventSpec) -> None:  # pragma: no cover - mail only
        raise NotImplementedError("IMAP carries mail, not calendars")


def run(provider: ImapProvider, cursors: dict[str, Cursor] | None = None
        ) -> tuple[list[Page], dict[str, Cursor]]:
    """Drain one pass like the engine: keep each page's cursor."""
    out = dict(cursors or {})
    pages = []
    for page in provider.sync(dict(out)):
        pages.append(page)
        if page.cursor is not None:
            out[page.resource] = page.cursor
    return pages, out
