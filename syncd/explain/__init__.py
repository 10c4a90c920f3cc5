"""``syncd explain``: why an email, meeting or address is (or is not) in the store.

Answers come from the store alone, read in one read-only session:

* :func:`explain_item` (:mod:`.items`) — a message by Message-ID or a
  meeting by iCalUID: which accounts saw it (logged, skipped with the skip
  record's reason and detail, quarantined), the privacy level of each,
  every participant's match and reason, its thread and why it is in it,
  its opportunity and why, the reminders it opened or resolved.
* :func:`explain_address` (:mod:`.addresses`) — an address: canonical
  form, the contact or company it resolves to and why, blocklist and
  role-address status, how many interactions it is on, when last seen.

:class:`Scope` limits what one reader may see (the API's visibility rule
passes the viewer's accounts; the CLI sees everything). Answers are plain
dataclasses (:mod:`.answers`) whose ``to_dict`` is the JSON both the CLI
(``--format json``) and ``GET /v1/explain`` return.
"""

from __future__ import annotations

from syncd.explain.addresses import explain_address
from syncd.explain.answers import AddressAnswer, ItemAnswer, ItemsAnswer, Scope
from syncd.explain.items import explain_item, normalized_message_id
from syncd.explain.queries import address_answer, item_answer

__all__ = ["AddressAnswer", "ItemAnswer", "ItemsAnswer", "Scope", "address_answer",
           "explain_address", "explain_item", "item_answer", "normalized_message_id"]
