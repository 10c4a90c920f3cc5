"""Coverage checks: compare what a server holds with what the store accounts for, and repair.

Sync reads changes; a change it never saw (a crash in the wrong place, a
server bug, a row removed by hand) would otherwise stay unnoticed forever.
:meth:`CoverageChecker.check` compares, per resource with a stored cursor:

* the provider's :class:`~providers.base.Inventory` (ids without bodies,
  :class:`~providers.base.Reconcilable`), with
* the store's account of that resource (:mod:`syncd.store.coverage_ids`):
  stored, not deleted sources, skip records and unresolved quarantine.

``missing`` = expected keys with no stored, skipped or quarantined id;
``vanished`` = stored ids whose key is no longer present. A repair fetches
the missing by id and commits them through :func:`syncd.sync.commit.commit_page`
(the normal page path: triage, skip records, rollups, feed) and commits the
vanished as ``Deletion`` pages, then compares once more: what still differs
is ``remaining`` (drift that a repair did not fix).

Invariants:

* Cursors are never read by a repair nor moved by it: every repair page has
  ``cursor=None``. A check only runs for resources that have a cursor.
* Ids derived from another item (invites found in mail, ``...#invite#...``)
  and over-long ids stored as digests (``sha256:...``) are never compared;
  CalDAV, Google Calendar and .ics files compare objects (href, series id,
  UID), not instances; Outlook calendar compares instance ids.
* Cost is bounded: listing is cheap by construction, and at most
  ``coverage.max_repair`` missing items per resource are fetched per check
  (the rest stays ``remaining`` until the next check).
* A provider that is not :class:`~providers.base.Reconcilable` is reported
  as ``supported: false``, never as drift.

Implemented by IMAP (UIDs up to the cursor's ``last_uid``), CalDAV (hrefs),
Gmail and Outlook mail (ids in today's window), Google Calendar (series and
event ids in today's window), Outlook calendar (instance ids in the window
of the cursor's round; missing items only: a stored occurrence's id cannot
be placed in time, so vanished ones are left to the delta), local Maildir
folders (message keys the cursor has seen), local mbox files (content keys
the cursor has seen) and local .ics files (UIDs in the cursor's window).
Gmail, Outlook mail and Google Calendar have no upper bound like
``last_uid``: an item that arrives between the pass and the check counts as
missing and is stored by the repair, which the next pass's upsert makes
harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import providers
from providers.base import (
    Deletion,
    Inventory,
    Item,
    ItemKind,
    Page,
    Provider,
    ProviderContext,
    Reconcilable,
    TokenVault,
)
from syncd.config.model import Account, Settings
from syncd.config.policies import policy_for
from syncd.store.coverage_ids import AccountedIds, accounted_ids
from syncd.store.cursors import load_cursors
from syncd.store.database import Database
from syncd.sync.commit import commit_page

ProviderFactory = Callable[[Account, ProviderContext], Provider]
#: ``progress(resource, resources_done, resources_total)``
CoverageProgress = Callable[[str, int, int], None]

_DERIVED = "#invite#"
_DIGEST = "sha256:"
_KINDS: dict[str, ItemKind] = {"meeting": "event", "email": "message"}


@dataclass(slots=True)
class Difference:
    """One comparison of a resource."""

    present: int
    stored: int
    skipped: int
    missing: list[str]  # object keys
    vanished: dict[str, str]  # stored provider id -> interaction kind
    vanished_keys: frozenset[str]  # their object keys (a series counts once)

    @property
    def drift(self) -> int:
        return len(self.missing) + len(self.vanished_keys)

    @property
    def keys(self) -> set[str]:
        """Every object key out of step (missing and vanished are disjoint)."""
        return {*self.missing, *self.vanished_keys}


@dataclass(slots=True)
class ResourceReport:
    resource: str
    present: int = 0
    stored: int = 0
    skipped: int = 0
    missing: int = 0
    vanished: int = 0
    repaired: int = 0
    remaining: int = 0
    compared: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"resource": self.resource, "compared": self.compared, "present": self.present,
                "stored": self.stored, "skipped": self.skipped, "missing": self.missing,
                "vanished": self.vanished, "repaired": self.repaired,
                "remaining": self.remaining}


@dataclass(slots=True)
class CoverageReport:
    account_id: str
    provider: str
    supported: bool = True
    repair: bool = True
    resources: list[ResourceReport] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return sum(r.missing for r in self.resources)

    @property
    def vanished(self) -> int:
        return sum(r.vanished for r in self.resources)

    @property
    def repaired(self) -> int:
        return sum(r.repaired for r in self.resources)

    @property
    def remaining(self) -> int:
        return sum(r.remaining for r in self.resources)

    @property
    def clean(self) -> bool:
        """No drift left: none found, or all of it repaired."""
        return self.remaining == 0

    @property
    def drift(self) -> dict[str, int] | None:
        """The drift left after the repair, as /readyz lists it; None when clean."""
        if self.clean:
            return None
        return {"missing": self.missing, "vanished": self.vanished, "remaining": self.remaining}

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.account_id, "provider": self.provider,
                "supported": self.supported, "repair": self.repair, "clean": self.clean,
                "missing": self.missing, "vanished": self.vanished,
                "repaired": self.repaired, "remaining": self.remaining,
                "resources": [r.to_dict() for r in self.resources]}


def compare(inventory: Inventory, accounted: AccountedIds) -> Difference:
    """Missing and vanished items of one resource (see module docstring)."""

    def keys(ids: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for pid in ids:
            if _DERIVED in pid or pid.startswith(_DIGEST):
                continue
            k = inventory.key_of(pid)
            if k is not None:
                out.add(k)
        return out

    stored_keys = keys(accounted.stored)
    skipped_keys = keys(accounted.skipped)
    accounted_for = stored_keys | skipped_keys | keys(accounted.quarantined)
    vanished: dict[str, str] = {}
    vanished_keys: set[str] = set()
    for pid, kind in accounted.stored.items():
        if _DERIVED in pid or pid.startswith(_DIGEST):
            continue
        k = inventory.key_of(pid)
        if k is not None and k not in inventory.present:
            vanished[pid] = kind
            vanished_keys.add(k)
    return Difference(present=len(inventory.expected), stored=len(stored_keys),
                      skipped=len(skipped_keys - stored_keys),
                      missing=sorted(inventory.expected - accounted_for), vanished=vanished,
                      vanished_keys=frozenset(vanished_keys))


class CoverageChecker:
    """Runs coverage checks of accounts against their providers (see module docstring)."""

    def __init__(self, database: Database, settings: Settings, *,
                 provider_factory: ProviderFactory = providers.create_provider,
                 vault: TokenVault | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.db = database
        self.settings = settings
        self.provider_factory = provider_factory
        self.vault = vault
        self.clock = clock

    def check(self, account: Account, *, repair: bool = True,
              progress: CoverageProgress | None = None) -> CoverageReport:
        """Compare every resource of ``account`` with a cursor; repair unless told not to.

        Raises the provider's typed errors (auth, transient) like a pass would.
        """
        report = CoverageReport(account.id, account.provider, repair=repair)
        with self.db.session(write=False) as s:
            cursors = load_cursors(s, account.id)
        context = ProviderContext(privacy=self.settings.privacy_for(account), vault=self.vault,
                                  now=self.clock)
        provider = self.provider_factory(account, context)
        try:
            if not isinstance(provider, Reconcilable):
                report.supported = False
                return report
            for done, (resource, cursor) in enumerate(sorted(cursors.items()), start=1):
                report.resources.append(self._resource(account, provider, resource, cursor,
                                                       repair=repair))
                if progress is not None:
                    progress(resource, done, len(cursors))
        finally:
            provider.close()
        return report

    def _resource(self, account: Account, provider: Reconcilable, resource: str,
                  cursor: Mapping[str, Any] | None, *, repair: bool) -> ResourceReport:
        first = self._compare(account, provider, resource, cursor)
        if first is None:
            return ResourceReport(resource, compared=False)
        out = ResourceReport(resource, present=first.present, stored=first.stored,
                             skipped=first.skipped, missing=len(first.missing),
                             vanished=len(first.vanished_keys), remaining=first.drift)
        if not repair or not first.drift:
            return out
        self._repair(account, provider, resource, first)
        second = self._compare(account, provider, resource, cursor)
        still = second.keys if second is not None else set()
        out.repaired = len(first.keys - still)
        out.remaining = len(still)
        return out

    def _compare(self, account: Account, provider: Reconcilable, resource: str,
                 cursor: Mapping[str, Any] | None) -> Difference | None:
        inventory = provider.inventory(resource, dict(cursor) if cursor is not None else None)
        if inventory is None:
            return None
        with self.db.session(write=False) as s:
            accounted = accounted_ids(s, account.id, resource)
        return compare(inventory, accounted)

    def _repair(self, account: Account, provider: Reconcilable, resource: str,
                diff: Difference) -> None:
        policy = policy_for(self.settings, account)
        now = self.clock() if self.clock is not None else None
        wanted = diff.missing[:self.settings.coverage.max_repair]
        if wanted:
            for page in provider.fetch_by_id(resource, wanted):
                page.cursor = None  # a repair never moves the cursor
                commit_page(self.db, self.settings, account, policy, page, now=now)
        if diff.vanished:
            gone: list[Item] = [Deletion(pid, _KINDS.get(kind, "message"))
                                for pid, kind in sorted(diff.vanished.items())]
            commit_page(self.db, self.settings, account, policy,
                        Page(resource, gone, cursor=None), now=now)
