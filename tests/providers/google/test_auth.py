"""Credentials: service-account delegation, stored refresh tokens, consent flow, refresh."""

from __future__ import annotations

import json
import threading
import urllib.request
import webbrowser
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from providers.google import GmailProvider
from providers.google.auth import run_consent_flow, vault_name
from providers.google.settings import GmailAccount
from syncd.errors import AuthError, ConfigError
from syncd.secrets import FileTokenVault
from tests.generate import make_message, message_id
from tests.providers.contract import drain, messages
from tests.providers.google.conftest import REP, context, gmail_account, trust, write_key_file
from tests.standins.google import GoogleStandIn

CLIENT = {"client_id": "syncd-desktop.apps.example", "client_secret": "s3cret-client"}


def oauth_account(standin: GoogleStandIn, key_file: Path) -> GmailAccount:
    return gmail_account(standin, key_file, auth={
        "method": "oauth", "token_uri": standin.token_uri, "auth_uri": standin.auth_uri,
        **CLIENT})


def test_service_account_jwt_carries_the_rep_as_subject(standin: GoogleStandIn,
                                                        key_file: Path) -> None:
    standin.add_message(REP, make_message(1))
    drain(GmailProvider(gmail_account(standin, key_file), context()))
    assert standin.oauth.grants == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]


def test_a_key_the_server_does_not_trust_is_refused(tmp_path: Path,
                                                    standin: GoogleStandIn) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = write_key_file(tmp_path / "forged.json", other, standin)
    with pytest.raises(AuthError) as info:
        drain(GmailProvider(gmail_account(standin, key), context()))
    assert "Signature" in str(info.value)


def test_unreadable_key_file_is_a_config_error_without_key_material(
        tmp_path: Path, standin: GoogleStandIn, key_file: Path) -> None:
    broken = tmp_path / "broken.json"
    data = json.loads(key_file.read_text())
    data["private_key"] = data["private_key"][:200]  # truncated PEM
    broken.write_text(json.dumps(data))
    with pytest.raises(ConfigError) as info:
        drain(GmailProvider(gmail_account(standin, broken), context()))
    text = str(info.value)
    assert "service_account_file" in text and "PRIVATE KEY" not in text
    with pytest.raises(ConfigError):
        drain(GmailProvider(gmail_account(standin, tmp_path / "missing.json"), context()))


def test_stored_refresh_token_in_the_encrypted_vault(tmp_path: Path, standin: GoogleStandIn,
                                                     key_file: Path) -> None:
    vault = FileTokenVault(tmp_path / "tokens", "a long random token key")
    account = oauth_account(standin, key_file)
    with pytest.raises(AuthError, match="syncd auth google"):
        drain(GmailProvider(account, context(vault=vault)))
    refresh = standin.issue_refresh_token(REP, CLIENT["client_id"])
    vault.save(vault_name("gmail-rita"), json.dumps({"refresh_token": refresh}))
    assert refresh.encode() not in next((tmp_path / "tokens").iterdir()).read_bytes()
    standin.add_message(REP, make_message(1))
    pages, _ = drain(GmailProvider(account, context(vault=vault)))
    assert [m.message_id for m in messages(pages)] == [message_id(1)]
    assert standin.oauth.grants == ["refresh_token"]
    standin.revoke(REP)
    with pytest.raises(AuthError, match="re-auth"):
        drain(GmailProvider(account, context(vault=vault)))


def test_token_is_refreshed_before_it_expires(rsa_key: rsa.RSAPrivateKey,
                                              tmp_path: Path) -> None:
    # tokens live 200 s: inside google-auth's 225 s refresh margin, so each request is
    # preceded by a refresh; the server never has to answer 401
    with GoogleStandIn(token_lifetime=200) as server:
        trust(server, rsa_key)
        for n in range(1, 4):
            server.add_message(REP, make_message(n))
        key = write_key_file(tmp_path / "sa.json", rsa_key, server)
        pages, _ = drain(GmailProvider(gmail_account(server, key, page_size=2), context()))
        assert len(messages(pages)) == 3
        assert len(server.oauth.grants) > 1 and server.unauthorized == 0


class _LoopbackBrowser(webbrowser.BaseBrowser):
    """Plays the user: opens the consent URL and follows the redirect to the loopback."""

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        # like a real browser, in the background: the flow serves the redirect after this
        threading.Thread(target=lambda: urllib.request.urlopen(url, timeout=10).read(),
                         daemon=True).start()
        return True


def test_consent_flow_stores_an_encrypted_refresh_token(
        tmp_path: Path, standin: GoogleStandIn, key_file: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the stand-in speaks plain http
    webbrowser.register("syncd-test-user", None, _LoopbackBrowser("syncd-test-user"))
    vault = FileTokenVault(tmp_path / "tokens", "a long random token key")
    account = oauth_account(standin, key_file)
    name = run_consent_flow(account, vault, browser="syncd-test-user", host="127.0.0.1",
                            timeout_seconds=10)
    assert name == "google:gmail-rita" and "refresh_token" in (vault.load(name) or "")
    standin.add_message(REP, make_message(1))
    pages, _ = drain(GmailProvider(account, context(vault=vault)))
    assert [m.message_id for m in messages(pages)] == [message_id(1)]


def test_declined_consent_is_an_auth_error_and_stores_nothing(
        tmp_path: Path, standin: GoogleStandIn, key_file: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    webbrowser.register("syncd-test-user", None, _LoopbackBrowser("syncd-test-user"))
    vault = FileTokenVault(tmp_path / "tokens", "a long random token key")
    standin.revoke(REP)  # the stand-in's consent page then answers access_denied
    with pytest.raises(AuthError, match="consent failed"):
        run_consent_flow(oauth_account(standin, key_file), vault, browser="syncd-test-user",
                         host="127.0.0.1", timeout_seconds=10)
    assert vault.load("google:gmail-rita") is None
