"""The ``local`` provider: Maildir folders, mbox files and .ics files on disk.

Resources are named by absolute path: each Maildir folder (the root and every
``.Name`` subfolder), each mbox file, each .ics file. Each has its own cursor
(see :mod:`.maildir`, :mod:`.mbox`, :mod:`.ics_files` for what it holds and how
a second pass reads only what changed). Resources are synced in config order:
Maildirs, then mboxes, then calendars.

``backfill_days`` (> 0) leaves out messages sent before now - backfill_days;
0 means no limit. They are remembered as seen, so raising it later needs a
resync of the account. Skipped folders/labels come from ``skip_folders``.
A configured path that does not exist is a :class:`TransientError` (it may be
a mount that is not there yet); other accounts are unaffected.

Coverage (:class:`providers.base.Reconcilable`): Maildir folders by listing
new/ and cur/ (:func:`.maildir.inventory`), mbox files by splitting and
hashing them into their content keys, no message parsed
(:func:`.mbox.inventory`), .ics files per UID (:func:`.ics_files.inventory`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from providers.base import Cursor, Inventory, Page, Provider, ProviderContext
from providers.local import ics_files, maildir, mbox

if TYPE_CHECKING:
    from providers.local.settings import LocalAccount


class LocalProvider(Provider):
    kind = "local"

    def __init__(self, account: LocalAccount, context: ProviderContext) -> None:
        self.account = account
        self.context = context
        self._skip = frozenset(s.lower() for s in account.skip_folders)

    def _not_before(self, now: datetime) -> datetime | None:
        return now - timedelta(days=self.account.backfill_days) \
            if self.account.backfill_days > 0 else None

    def _mail_options(self, now: datetime) -> maildir.Options:
        return maildir.Options(page_size=self.account.page_size, privacy=self.context.privacy,
                               not_before=self._not_before(now),
                               stored_ids=self.context.stored_ids)

    def _mbox_options(self, now: datetime) -> mbox.Options:
        return mbox.Options(page_size=self.account.page_size, privacy=self.context.privacy,
                            not_before=self._not_before(now), skip_labels=self._skip,
                            stored_ids=self.context.stored_ids)

    def _ics_options(self, now: datetime) -> ics_files.Options:
        return ics_files.Options(page_size=self.account.page_size,
                                 privacy=self.context.privacy,
                                 window=ics_files.calendar_window(
                                     now, self.account.past_days, self.account.future_days))

    def sync(self, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        now = self.context.current_time()
        mail_options = self._mail_options(now)
        for root in self.account.maildirs:
            for folder in maildir.discover(root, set(self._skip)):
                yield from maildir.sync_folder(folder, cursors.get(folder.resource),
                                               mail_options)

        mbox_options = self._mbox_options(now)
        for path in self.account.mboxes:
            yield from mbox.sync_file(path, cursors.get(str(path)), mbox_options)

        ics_options = self._ics_options(now)
        synced: set[str] = set()
        for configured in self.account.calendars:
            for path in ics_files.discover(configured):
                synced.add(str(path))
                yield from ics_files.sync_file(path, cursors.get(str(path)), ics_options)
        yield from self._vanished_calendars(cursors, synced)

    def _vanished_calendars(self, cursors: Mapping[str, Cursor], synced: set[str]
                            ) -> Iterator[Page]:
        """.ics files that had a cursor under a configured folder but are gone now."""
        folders = [p for p in self.account.calendars if p.is_dir()]
        for resource, cursor in cursors.items():
            if resource in synced or not resource.lower().endswith(".ics"):
                continue
            path = Path(resource)
            if any(path.is_relative_to(folder) for folder in folders) and not path.exists():
                yield from ics_files.vanished(resource, cursor if isinstance(cursor, dict) else {})

    # -- coverage (providers.base.Reconcilable) -------------------------------------------

    def _folder(self, resource: str) -> maildir.MaildirFolder | None:
        """The configured Maildir folder named ``resource`` (only its root is listed)."""
        path = Path(resource)
        for root in self.account.maildirs:
            if path == root or path.parent == root:
                for folder in maildir.discover(root, set(self._skip)):
                    if folder.resource == resource:
                        return folder
        return None

    def _mbox_file(self, resource: str) -> Path | None:
        """The configured mbox file named ``resource``."""
        return next((p for p in self.account.mboxes if str(p) == resource), None)

    def _calendar_file(self, resource: str) -> Path | None:
        """The configured .ics file named ``resource``."""
        path = Path(resource)
        for configured in self.account.calendars:
            if (path == configured or path.is_relative_to(configured)) \
                    and any(str(p) == resource for p in ics_files.discover(configured)):
                return path
        return None

    def inventory(self, resource: str, cursor: Cursor | None) -> Inventory | None:
        """A Maildir folder's or an mbox file's message keys, or an .ics file's UIDs;
        ``None`` for resources no longer configured."""
        folder = self._folder(resource)
        if folder is not None:
            return maildir.inventory(folder, cursor)
        box = self._mbox_file(resource)
        if box is not None:
            return mbox.inventory(box, cursor, self._skip)
        calendar = self._calendar_file(resource)
        if calendar is not None:
            return ics_files.inventory(calendar, cursor)
        return None

    def fetch_by_id(self, resource: str, keys: Collection[str]) -> Iterator[Page]:
        """Messages by Maildir or mbox key, or events by UID, read as a pass reads them."""
        now = self.context.current_time()
        folder = self._folder(resource)
        if folder is not None:
            yield from maildir.fetch_keys(folder, keys, self._mail_options(now))
            return
        box = self._mbox_file(resource)
        if box is not None:
            yield from mbox.fetch_keys(box, keys, self._mbox_options(now))
            return
        calendar = self._calendar_file(resource)
        if calendar is not None:
            yield from ics_files.fetch_uids(calendar, keys, self._ics_options(now))
