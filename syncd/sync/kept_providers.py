"""Providers kept open between sync passes, one per account.

A new provider per pass pays a connection and a login every poll (IMAP:
20-30 ms against ~0.5 ms for a no-change poll on a kept connection). The
engine (``SyncEngine(keep_providers=True)``, what the daemon uses) takes an
account's provider from here at the start of a pass and gives it back at
the end. Rules:

* **Same settings only.** A provider is kept with a fingerprint of
  everything it was built from (account settings, secrets included, and
  the privacy level); a pass with another fingerprint closes it and
  builds a new one.
* **Healthy only.** The engine gives a provider back only after a pass
  that ended without an error (or with :class:`syncd.errors.BadItem`,
  which is about one item, not the connection) and was not stopped; after
  any other error it closes it, so the next pass starts from a fresh one.
* **One user at a time.** :meth:`take` removes the provider from the pool;
  if two passes of one account ever overlap, the second builds its own and
  the extra one is closed when given back.
* Accounts gone from the configuration lose their provider
  (:meth:`retain`); :meth:`close` closes everything (daemon shutdown).

States of an entry: absent → kept (give back) → in use (take) → kept | closed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable

from providers.base import Provider


class KeptProviders:
    """Open providers by account id (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[str, Provider]] = {}

    def take(self, account_id: str, fingerprint: str) -> Provider | None:
        """The account's kept provider if built from ``fingerprint``; else None."""
        with self._lock:
            entry = self._kept.pop(account_id, None)
        if entry is None:
            return None
        kept_fingerprint, provider = entry
        if kept_fingerprint == fingerprint:
            return provider
        _close_quietly(provider)
        return None

    def give_back(self, account_id: str, fingerprint: str, provider: Provider) -> None:
        with self._lock:
            extra = self._kept.get(account_id)
            self._kept[account_id] = (fingerprint, provider)
        if extra is not None and extra[1] is not provider:
            _close_quietly(extra[1])

    def discard(self, account_id: str) -> None:
        """Close the account's kept provider, if any."""
        with self._lock:
            entry = self._kept.pop(account_id, None)
        if entry is not None:
            _close_quietly(entry[1])

    def retain(self, account_ids: Iterable[str]) -> None:
        """Close the providers of accounts not in ``account_ids``."""
        keep = set(account_ids)
        with self._lock:
            gone = [self._kept.pop(a) for a in list(self._kept) if a not in keep]
        for _, provider in gone:
            _close_quietly(provider)

    def close(self) -> None:
        with self._lock:
            entries = list(self._kept.values())
            self._kept.clear()
        for _, provider in entries:
            _close_quietly(provider)

    def __len__(self) -> int:
        with self._lock:
            return len(self._kept)


def _close_quietly(provider: Provider) -> None:
    with contextlib.suppress(Exception):  # closing a dead connection must not fail a pass
        provider.close()
