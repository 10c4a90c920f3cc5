"""The explain answers read in one read-only session each (what the CLI and API call)."""

from __future__ import annotations

from syncd.config.model import Settings
from syncd.explain.addresses import explain_address
from syncd.explain.answers import AddressAnswer, ItemsAnswer, Scope
from syncd.explain.items import ContentLevel, explain_item
from syncd.store.database import Database


def item_answer(database: Database, settings: Settings, *, message_id: str | None = None,
                event: str | None = None, account: str | None = None,
                scope: Scope = Scope(), content: ContentLevel | None = None) -> ItemsAnswer:
    with database.session(write=False) as s:
        return explain_item(s, settings, message_id=message_id, event=event, account=account,
                            scope=scope, content=content)


def address_answer(database: Database, settings: Settings, address: str, *,
                   scope: Scope = Scope()) -> AddressAnswer:
    with database.session(write=False) as s:
        return explain_address(s, settings, address, scope=scope)
