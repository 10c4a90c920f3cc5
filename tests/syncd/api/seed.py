"""A small history written through the real sync engine, for API tests.

Two reps: Rita owns ``rita-mail``, Sam owns ``sam-mail`` (privacy ``full``,
so snippets and bodies are stored and visibility alone decides). The story
(times from MONDAY = 2026-11-02 09:00 UTC):

=========  =====================================  ===========  ==========================
name       what                                   seen by      why it is here
=========  =====================================  ===========  ==========================
pricing    Ann (Acme) → Rita "Acme pricing"       rita-mail    Rita's own; linked to the
                                                               Acme renewal opportunity
reply      Rita → Ann "Re: Acme pricing"          rita-mail    same thread, outbound
globex     Bob (Globex) → Sam "Globex contract"   sam-mail     Sam's own: Rita sees it only
                                                               as far as sharing allows
shared     Ann → Rita cc Sam "Shared update"      both         two sources: both see it
carol_in   Carol (unmatched) → Rita               rita-mail    two-way with an unmatched
carol_out  Rita → Carol                           rita-mail    person (score 1)
dave       Dave (unmatched) → Rita                rita-mail    one-way: score 0
review     meeting "Acme review" with Ann, +2 d   rita-mail    a meeting with a location
=========  =====================================  ===========  ==========================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from providers.base import Address, Attendee, Event, Message
from syncd.store.database import Database
from syncd.store.schema import Interaction, Opportunity
from tests.syncd.reminders.harness import ANN, BOB, MONDAY, RITA, SAM, World, settings

CAROL = Address("carol@initech.example", "Carol Initech")
DAVE = Address("dave@hooli.example", "Dave Hooli")
ACCOUNTS = {"rita-mail": RITA.email, "sam-mail": SAM.email}


@dataclass
class Seeded:
    db: Database
    #: story name (see the module docstring) -> interaction id
    ids: dict[str, int] = field(default_factory=dict)
    acme: int = 0
    globex: int = 0
    ann: int = 0
    bob: int = 0
    renewal: int = 0


def seed(db: Database) -> Seeded:
    """Write the story above into ``db`` (migrated, empty) through the real engine."""
    world = World(db, settings(privacy={"level": "full"}))
    out = Seeded(db)
    out.acme = world.company("Acme", "acme.example", owner=RITA.email)
    out.globex = world.company("Globex", "globex.example")
    out.ann = world.contact(ANN, out.acme)
    out.bob = world.contact(BOB, out.globex)
    with db.session() as s:
        deal = Opportunity(company_id=out.acme, name="Acme renewal", stage="proposal",
                           owner=RITA.email, is_open=True)
        s.add(deal)
        s.flush()
        out.renewal = deal.id
    hour = timedelta(hours=1)

    def mail(name: str, sender: Address, to: tuple[Address, ...], subject: str, at: int,
             *accounts: str, cc: tuple[Address, ...] = (), reply_to: str | None = None) -> None:
        for account in accounts or ("rita-mail",):
            item = Message(provider_id=f"{account}/{name}", message_id=f"{name}@test.example",
                           sent_at=MONDAY + at * hour, sender=sender, to=to, cc=cc,
                           subject=subject, folder="INBOX",
                           in_reply_to=f"{reply_to}@test.example" if reply_to else None,
                           references=(f"{reply_to}@test.example",) if reply_to else (),
                           snippet=f"snippet of {name}", body=f"body of {name}")
            world.at(MONDAY + at * hour).deliver(item, account=account)

    mail("pricing", ANN, (RITA,), "Acme pricing", 0)
    mail("reply", RITA, (ANN,), "Re: Acme pricing", 1, reply_to="pricing")
    mail("globex", BOB, (SAM,), "Globex contract", 2, "sam-mail")
    mail("shared", ANN, (RITA,), "Shared update", 3, "rita-mail", "sam-mail", cc=(SAM,))
    mail("carol_in", CAROL, (RITA,), "Intro from Carol", 4)
    mail("carol_out", RITA, (CAROL,), "Re: Intro from Carol", 5, reply_to="carol_in")
    mail("dave", DAVE, (RITA,), "Hello from Dave", 6)
    start = MONDAY + timedelta(days=2)
    world.at(MONDAY + 7 * hour).deliver(Event(
        provider_id="cal/review", uid="review", recurrence_id=None, start=start,
        end=start + hour, title="Acme review", location="Acme HQ, room 4",
        organizer=RITA, attendees=(Attendee(RITA, "accepted"), Attendee(ANN, "accepted"))),
        account="rita-mail")
    with db.session(write=False) as s:
        for key, interaction_id in s.execute(select(Interaction.dedupe_key, Interaction.id)):
            out.ids[key.lstrip("<").split("@")[0].split("#")[0]] = interaction_id
    return out
