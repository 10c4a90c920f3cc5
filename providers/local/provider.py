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
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from providers.base import Cursor, Page, Provider, ProviderContext
from providers.local import ics_files, maildir, mbox

if TYPE_CHECKING:
    from providers.local.settings import LocalAccount


class LocalProvider(Provider):
    kind = "local"

    def __init__(self, account: LocalAccount, context: ProviderContext) -> None:
        self.account = account
        self.context = context
        self._skip = frozenset(s.lower() for s in account.skip_folders)

    def sync(self, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        now = self.context.current_time()
        not_before = now - timedelta(days=self.account.backfill_days) \
            if self.account.backfill_days > 0 else None
        privacy = self.context.privacy
        page_size = self.account.page_size

        mail_options = maildir.Options(page_size=page_size, privacy=privacy,
                                       not_before=not_before,
                                       stored_ids=self.context.stored_ids)
        for root in self.account.maildirs:
            for folder in maildir.discover(root, set(self._skip)):
                yield from maildir.sync_folder(folder, cursors.get(folder.resource),
                                               mail_options)

        mbox_options = mbox.Options(page_size=page_size, privacy=privacy,
                                    not_before=not_before, skip_labels=self._skip)
        for path in self.account.mboxes:
            yield from mbox.sync_file(path, cursors.get(str(path)), mbox_options)

        ics_options = ics_files.Options(page_size=page_size, privacy=privacy,
                                        window=ics_files.calendar_window(
                                            now, self.account.past_days,
                                            self.account.future_days))
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
