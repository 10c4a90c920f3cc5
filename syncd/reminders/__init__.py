"""Reminders derived from the interaction history under YAML business rules (issue 7).

Modules, one job each:

* :mod:`.rules` — the ``reminders`` config section (business hours, per-rep
  overrides, rules by segment, digest). Imported by the config model, so it
  imports nothing else of syncd's.
* :mod:`.calendar` — business-time arithmetic (weekends, holidays, zones).
* :mod:`.facts` — batched loading of what derivation needs from the store.
* :mod:`.derive` — wanted reminders per thread/meeting and reconciliation
  with stored ones (create, move, reopen, resolve, supersede).
* :mod:`.service` — entry points: after a page, the periodic sweep, and
  status changes (done, dismiss).
* :mod:`.queries` — listing, the JSON/table shapes; :mod:`.ics` the
  iCalendar feed; :mod:`.digest` the daily SMTP digest; :mod:`.cli` the
  ``syncd reminders`` command group.

This package's ``__init__`` imports nothing (the config model imports
:mod:`.rules`, and everything else imports the config model).
"""
