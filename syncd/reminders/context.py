"""Settings-derived helpers shared by one derivation run.

:class:`Context` answers, for the planners, the questions that depend on
configuration rather than on the thread or meeting at hand: is an address
blocklisted (globally or by one of the accounts that saw the interaction),
who owns a reminder under a rule, is an anchor too old to open one, and —
through :class:`Calendars` — when a reminder is due.

Invariants:

* Nothing here touches the store; ``owners`` (account id -> rep address)
  is loaded once per run by the caller.
* Due times: a rule's plain ``hours`` are wall-clock hours; otherwise
  ``business_days`` / ``business_hours`` count in the business calendar of
  the reminder's owner when that owner is a configured rep, else the
  organization's.
* A blocklist check stops at the first policy that blocks (the global one
  first, then each account's in order), so the reason is that policy's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from matching import blocked_reason
from matching.types import Policy
from syncd.config.model import Settings
from syncd.config.policies import global_policy, policy_for
from syncd.config.reminders import RemindersSettings, Rule
from syncd.reminders.calendar import BusinessCalendar
from syncd.reminders.facts import Party


class Calendars:
    """Business calendars per rep (their own hours, else the organization's)."""

    def __init__(self, settings: RemindersSettings) -> None:
        self.settings = settings
        self._cache: dict[str | None, BusinessCalendar] = {}

    def for_rep(self, rep: str | None) -> BusinessCalendar:
        key = rep.lower() if rep and rep.lower() in self.settings.reps else None
        if key not in self._cache:
            self._cache[key] = BusinessCalendar(self.settings.hours_for(key))
        return self._cache[key]

    def after(self, rep: str | None, t: datetime, rule: Rule) -> datetime:
        return self._shift(rep, t, rule, 1)

    def before(self, rep: str | None, t: datetime, rule: Rule) -> datetime:
        return self._shift(rep, t, rule, -1)

    def _shift(self, rep: str | None, t: datetime, rule: Rule, sign: int) -> datetime:
        if rule.hours is not None:
            return t + sign * timedelta(hours=rule.hours)
        cal = self.for_rep(rep)
        if rule.business_days is not None:
            return cal.add_days(t, sign * rule.business_days)
        return cal.add_hours(t, sign * (rule.business_hours or 0))


class Context:
    """Settings-derived helpers shared by one derivation run."""

    def __init__(self, settings: Settings, now: datetime, owners: dict[str, str]) -> None:
        self.settings = settings
        self.conf = settings.reminders
        self.now = now
        self.calendars = Calendars(self.conf)
        self.owners = owners  # account id -> rep address
        self.reps = set(owners.values())
        self.global_policy = global_policy(settings)
        self._policies: dict[str, Policy] = {}

    def blocked(self, address: str | None, accounts: Sequence[str]) -> str | None:
        if not address:
            return None
        reason = blocked_reason(address, self.global_policy)
        for account_id in accounts:
            if reason is not None:
                break
            reason = blocked_reason(address, self._policy(account_id))
        return reason

    def _policy(self, account_id: str) -> Policy:
        if account_id not in self._policies:
            account = next((a for a in self.settings.accounts if a.id == account_id), None)
            self._policies[account_id] = (policy_for(self.settings, account)
                                          if account is not None else self.global_policy)
        return self._policies[account_id]

    def owner(self, rule: Rule, party: Party, rep: str | None) -> str | None:
        if rule.owner == "account_rep":
            return rep
        if rule.owner == "company_owner":
            return party.company_owner or rep
        return rule.owner

    def old(self, anchor: datetime) -> bool:
        return anchor < self.now - timedelta(days=self.conf.max_age_days)
