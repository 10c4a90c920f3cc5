"""Folder choice: SPECIAL-USE first, common names second, never trash/junk/drafts."""

from __future__ import annotations

from providers.imap.folders import choose_folders


def entry(name: str, *flags: bytes) -> tuple[tuple[bytes, ...], bytes, str]:
    return ((b"\\HasNoChildren", *flags), b"/", name)


def test_special_use_wins_over_names() -> None:
    listing = [entry("INBOX"), entry("Sent"), entry("Gesendet", b"\\Sent"),
               entry("Trash", b"\\Trash")]
    assert choose_folders(listing) == ["INBOX", "Gesendet"]


def test_fallback_names_without_special_use() -> None:
    assert choose_folders([entry("INBOX"), entry("Sent Items"), entry("Deleted Items")]) == [
        "INBOX", "Sent Items"]
    assert choose_folders([entry("INBOX"), entry("INBOX.Sent")]) == ["INBOX", "INBOX.Sent"]
    assert choose_folders([entry("INBOX"), entry("[Gmail]/Sent Mail")]) == [
        "INBOX", "[Gmail]/Sent Mail"]
    assert choose_folders([entry("INBOX"), entry("sent messages")]) == ["INBOX", "sent messages"]


def test_never_trash_junk_or_drafts_and_no_sent_is_fine() -> None:
    listing = [entry("INBOX"), entry("Drafts", b"\\Drafts"), entry("Junk", b"\\Junk"),
               entry("Sent", b"\\Trash"), entry("Archive", b"\\Noselect")]
    assert choose_folders(listing) == ["INBOX"]


def test_explicit_list_is_taken_as_is() -> None:
    listing = [entry("INBOX"), entry("Sent", b"\\Sent")]
    assert choose_folders(listing, ["Trash", "INBOX", "Trash"]) == ["Trash", "INBOX"]
