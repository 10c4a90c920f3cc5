"""The CalDAV provider's coverage capability against Radicale: objects (hrefs), not
instances; a meeting outside the window is present (never "vanished"); fetch by href."""

from __future__ import annotations

from datetime import timedelta

from providers.base import Event, Reconcilable
from providers.caldav.coverage import object_key
from providers.caldav.provider import GONE
from tests.generate import BASE_TIME, EventSpec
from tests.providers.caldav.backend import RadicaleBackend


def test_inventory_is_per_object_and_counts_far_meetings_as_present(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    backend.add_event(EventSpec(uid="weekly@test", title="Weekly",
                                start=BASE_TIME + timedelta(hours=5), rrule="FREQ=WEEKLY;COUNT=3"))
    backend.add_event(EventSpec(uid="offsite@test", title="Offsite",
                                start=BASE_TIME + timedelta(days=200)))  # beyond the window
    provider = backend.provider()
    assert isinstance(provider, Reconcilable)
    cursors = {p.resource: p.cursor for p in provider.sync({}) if p.cursor is not None}
    (url,) = cursors
    inventory = provider.inventory(url, cursors[url])
    assert inventory is not None
    weekly, offsite = backend.path("weekly@test"), backend.path("offsite@test")
    assert inventory.expected == {weekly}
    assert inventory.present == {weekly, offsite}
    assert provider.inventory(url, None) is None
    assert provider.inventory(url, {"v": 1, GONE: True}) is None

    pages = list(provider.fetch_by_id(url, [weekly]))
    assert all(p.cursor is None for p in pages)
    instances = [i for p in pages for i in p.items if isinstance(i, Event)]
    assert len(instances) == 3 and {object_key(e.provider_id) for e in instances} == {weekly}
    provider.close()


def test_object_key_is_the_href() -> None:
    assert object_key("/rep/work/a.ics#a@test") == "/rep/work/a.ics"
    assert object_key("/rep/work/a.ics#a@test#2026-11-23T15:00:00Z") == "/rep/work/a.ics"
    assert object_key("INBOX/1/2#invite#a@test#") is None
