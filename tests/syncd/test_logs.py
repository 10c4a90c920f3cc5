"""Logging: JSON lines, levels, and secrets masked everywhere a line can carry them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from syncd.logs import MASK, configure_logging, get_logger, redact_text, redact_value

SECRET = "hunter2-Sup3rSecret"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging("debug", "json", stream=out)
    yield out
    configure_logging("info", "json", stream=io.StringIO())


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_event_level_time_and_bound_context(captured: io.StringIO) -> None:
    log = get_logger("syncd.test").bind(account="rita-mail", provider="local")
    log.info("pass finished", items=3)
    [entry] = lines(captured)
    assert entry["event"] == "pass finished"
    assert entry["level"] == "info"
    assert entry["account"] == "rita-mail" and entry["provider"] == "local"
    assert entry["items"] == 3
    assert str(entry["ts"]).endswith("Z")


def test_level_filters_lower_levels() -> None:
    out = io.StringIO()
    configure_logging("warning", "json", stream=out)
    log = get_logger("syncd.test")
    log.info("hidden")
    log.warning("shown")
    logging.getLogger("some.library").info("hidden too")
    assert [e["event"] for e in lines(out)] == ["shown"]


def test_console_format_is_not_json() -> None:
    out = io.StringIO()
    configure_logging("info", "console", stream=out)
    get_logger("syncd.test").info("hello", account="a1")
    text = out.getvalue()
    assert "hello" in text and "a1" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_auto_format_is_json_when_not_a_tty() -> None:
    out = io.StringIO()  # StringIO is not a terminal
    configure_logging("info", "auto", stream=out)
    get_logger("x").info("auto")
    assert lines(out)[0]["event"] == "auto"


def test_secret_keys_are_masked(captured: io.StringIO) -> None:
    log = get_logger("syncd.test")
    log.info("connecting", password=SECRET, access_token=SECRET, Authorization=f"Bearer {SECRET}",
             headers={"Cookie": SECRET, "X-Api-Key": SECRET, "Accept": "text/plain"},
             client_secret=SecretStr(SECRET), pass_id="p-1", host="imap.example")
    text = captured.getvalue()
    assert SECRET not in text
    [entry] = lines(captured)
    assert entry["password"] == MASK and entry["access_token"] == MASK
    assert entry["headers"] == {"Cookie": MASK, "X-Api-Key": MASK, "Accept": "text/plain"}
    # a pass id is not a password, a host is not a secret
    assert entry["pass_id"] == "p-1" and entry["host"] == "imap.example"


def test_secrets_inside_strings_are_masked(captured: io.StringIO) -> None:
    log = get_logger("syncd.test")
    log.warning(f"request failed: Authorization: Bearer {SECRET}")
    log.warning("db", url=f"postgresql+psycopg://syncd:{SECRET}@db.internal/crm")
    log.warning(f"token exchange body grant_type=x&refresh_token={SECRET}&client_id=abc")
    log.warning(f"callback https://app/cb?code={SECRET}&state=1")
    text = captured.getvalue()
    assert SECRET not in text
    entries = lines(captured)
    assert entries[1]["url"] == f"postgresql+psycopg://syncd:{MASK}@db.internal/crm"
    assert "client_id=abc" in str(entries[2]["event"])


def test_stdlib_library_logs_are_redacted_too(captured: io.StringIO) -> None:
    logging.getLogger("some.http.client").warning("sending Authorization: Basic %s",
                                                  "dXNlcjpodW50ZXIy")
    text = captured.getvalue()
    assert "dXNlcjpodW50ZXIy" not in text
    assert lines(captured)[0]["logger"] == "some.http.client"


def test_tracebacks_are_redacted(captured: io.StringIO) -> None:
    try:
        raise RuntimeError(f"login failed for https://bob:{SECRET}@mail.example/")
    except RuntimeError:
        get_logger("syncd.test").exception("pass crashed")
    text = captured.getvalue()
    assert SECRET not in text
    assert "RuntimeError" in lines(captured)[0]["exception"]


def test_messages_without_secrets_are_untouched() -> None:
    for text in ["accounts[0].password_file: cannot read secret file /x — point it at a file",
                 "privacy.token_key: no key to encrypt tokens with",
                 "token refreshed for rita-mail", "Basic plan", "synced 40 items"]:
        assert redact_text(text) == text


def test_redact_value_copies_and_does_not_mutate() -> None:
    data = {"password": SECRET, "nested": [{"token": SECRET}]}
    out = redact_value(data)
    assert out == {"password": MASK, "nested": [{"token": MASK}]}
    assert data["password"] == SECRET


@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126,
                                     exclude_characters="@/:\"'&"), min_size=6, max_size=30))
def test_any_password_in_a_url_is_masked(password: str) -> None:
    url = f"imaps://rita:{password}@imap.example:993/INBOX"
    assert redact_text(url) == f"imaps://rita:{MASK}@imap.example:993/INBOX"


@given(st.text(alphabet=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789-._~+/"), min_size=8, max_size=60))
def test_any_bearer_token_is_masked(token: str) -> None:
    assert token not in redact_text(f"got 401 with Bearer {token} from graph")


# protocol traces and token formats an earlier version let through


def test_imap_login_arguments_and_sasl_responses_are_masked(captured: io.StringIO) -> None:
    import base64

    xoauth2 = base64.b64encode(f"user=rita@ourco.example\x01auth=Bearer {SECRET}\x01\x01"
                               .encode()).decode()
    plain = base64.b64encode(f"\x00rita\x00{SECRET}".encode()).decode()
    log = logging.getLogger("imapclient.imaplib")
    log.debug("> b'ABCD1 LOGIN rita \"%s\"'", SECRET)
    log.debug("> b'ABCD2 LOGIN \"rita x\" %s'", SECRET)
    log.debug("> b'ABCD3 AUTHENTICATE XOAUTH2 %s'", xoauth2)
    log.debug("> b'%s'", xoauth2)  # the same blob as a continuation line
    logging.getLogger("smtplib").debug("send: 'AUTH PLAIN %s\\r\\n'", plain)
    text = captured.getvalue()
    assert SECRET not in text and xoauth2 not in text and plain not in text
    events = [str(e["event"]) for e in lines(captured)]
    assert events[0] == f"> b'ABCD1 LOGIN rita {MASK}'"
    assert events[2] == f"> b'ABCD3 AUTHENTICATE XOAUTH2 {MASK}'"


def test_json_web_tokens_and_signed_assertions_are_masked() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJzYUBwcm9qLmlhbSJ9.c2lnbmF0dXJlLWJ5dGVz"
    assert jwt not in redact_text(f"token exchange with grant_type=jwt-bearer&assertion={jwt}")
    assert jwt not in redact_text(f"id token {jwt} accepted")
    assert redact_value({"assertion": jwt}) == {"assertion": MASK}
    # ordinary IMAP/log wording keeps its words
    for text in ["LOGIN failed: bad credentials", "user logged in", "ABCD1 OK LOGIN completed"]:
        assert redact_text(text) == text
