"""BODYSTRUCTURE walking, on structures Dovecot really returns."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from providers.imap.structure import calendar_parts, leaf_parts, text_part
from tests.fixtures.dovecot import MailUser
from tests.generate import BASE_TIME, EventSpec, make_message, to_ics
from tests.providers.contract import messages
from tests.providers.imap.helpers import provider_for, run


def nested_message() -> bytes:
    """mixed[alternative[plain, html], invite.ics attachment (base64)]."""
    spec = EventSpec(uid="att-1@acme.example", title="Attached", start=BASE_TIME)
    msg = EmailMessage()
    msg["From"] = "bob@acme.example"
    msg["To"] = "rita@ourco.example"
    msg["Subject"] = "See attached"
    msg["Date"] = "Mon, 02 Nov 2026 09:00:00 +0000"
    msg["Message-ID"] = "<nested-1@acme.example>"
    msg.set_content("Plain body here.\n")
    msg.add_alternative("<p>HTML body</p>", subtype="html")
    msg.add_attachment(to_ics(spec, method="REQUEST").encode(), maintype="text",
                       subtype="calendar", filename="invite.ics")
    return bytes(msg)


def bodystructure(user: MailUser, raw: bytes) -> Any:
    user.deliver(raw)
    admin = user.client()
    admin.select_folder("INBOX", readonly=True)  # type: ignore[attr-defined]
    uid = max(admin.search(["ALL"]))  # type: ignore[attr-defined]
    data = admin.fetch([uid], ["BODYSTRUCTURE"])  # type: ignore[attr-defined]
    admin.logout()  # type: ignore[attr-defined]
    return data[uid][b"BODYSTRUCTURE"]


def test_nested_parts_are_numbered_per_rfc3501(mail_user: MailUser) -> None:
    parts = leaf_parts(bodystructure(mail_user, nested_message()))
    assert [(p.number, p.mime_type) for p in parts] == [
        ("1.1", "text/plain"), ("1.2", "text/html"), ("2", "text/calendar")]
    (cal,) = calendar_parts(parts)
    assert cal.attachment and cal.filename == "invite.ics" and cal.encoding == "base64"
    body = text_part(parts)
    assert body is not None and body.number == "1.1"


def test_single_part_message_is_part_one(mail_user: MailUser) -> None:
    (part,) = leaf_parts(bodystructure(mail_user, make_message(1)))
    assert (part.number, part.mime_type, part.param("charset")) == ("1", "text/plain", "utf-8")


def test_attached_base64_invite_and_nested_text_reach_the_message(mail_user: MailUser) -> None:
    mail_user.deliver(nested_message())
    with provider_for(mail_user, privacy="snippet") as provider:
        (msg,) = messages(run(provider)[0])
    (invite,) = msg.invites
    assert invite.uid == "att-1@acme.example" and invite.method == "REQUEST"
    assert msg.snippet == "Plain body here."


atoms = st.one_of(st.none(), st.integers(), st.binary(max_size=8), st.text(max_size=8))
trees = st.recursive(atoms, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                   st.tuples(kids, kids, kids)), max_leaves=30)


@given(trees)
def test_any_structure_shape_never_raises(tree: Any) -> None:
    for part in leaf_parts(tree):
        assert part.number
