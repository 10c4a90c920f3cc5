"""Reminders derived from the interaction history under YAML business rules.

Modules, one job each (the ``reminders`` config section itself lives in
:mod:`syncd.config.reminders`, the ``syncd reminders`` commands in
:mod:`syncd.cli.reminders`):

* :mod:`.calendar` — business-time arithmetic (weekends, holidays, zones).
* :mod:`.facts` — batched loading of what derivation needs from the store,
  stored reminders included.
* :mod:`.derive` — the entry point: which threads and meetings to
  re-evaluate, in which order, batch by batch.
* :mod:`.plan` — the shape of a plan (wanted reminders, closings) and the
  reminder kinds.
* :mod:`.context` — settings-derived helpers of one run: blocklists,
  owners, the age limit, due times in business time.
* :mod:`.selection` — which rule applies to a party, who the rep is.
* :mod:`.thread_plan` — the reminders a thread should have
  (``reply_needed``, ``follow_up``) and why others close.
* :mod:`.meeting_plan` — the reminders a meeting should have
  (``meeting_prep``, ``meeting_follow_up``) and why others close.
* :mod:`.lead_plan` — the reminder a lead should have (``lead``) and why
  others close.
* :mod:`.reconcile` — wanted vs stored reminders: insert, update, move,
  reopen, close with a reason; people's ``done``/``dismissed`` untouched.
* :mod:`.service` — entry points: after a page, the periodic sweep, and
  status changes (done, dismiss).
* :mod:`.actions` — what people do (done, dismiss, snooze, reassign, manual
  reminders; audited) and re-deriving after a note or call is logged.
* :mod:`.relationship_rules` — ``gone_quiet`` and ``single_threaded``,
  evaluated set-based by the clock job.
* :mod:`.job` — the daemon's scheduled sweep and digest.
* :mod:`.queries` — listing, the JSON/table shapes; :mod:`.ics` the
  iCalendar feed; :mod:`.digest` the daily SMTP digest.

This package's ``__init__`` imports nothing.
"""
