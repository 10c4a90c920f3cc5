"""msal against the stand-in's identity platform: app-only, device code, errors."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from providers.microsoft import OutlookCalendarProvider, OutlookMailProvider
from providers.microsoft.auth import error_from_result, run_device_code_flow, vault_key
from providers.microsoft.settings import OutlookMailAccount
from syncd.errors import AuthError, ConfigError, TransientError
from syncd.secrets import FileTokenVault
from tests.generate import BASE_TIME, EventSpec, make_message, message_id
from tests.providers.contract import drain, events, messages
from tests.providers.microsoft.conftest import (
    CLIENT_ID,
    MAILBOX,
    SECRET,
    auth_settings,
    calendar_account,
    context,
    mail_account,
)
from tests.standins.graph import GraphStandIn

PUBLIC_CLIENT = "99999999-aaaa-bbbb-cccc-dddddddddddd"


def sync(provider: OutlookMailProvider) -> list[str]:
    return [m.message_id for m in messages(drain(provider)[0])]


@pytest.mark.parametrize(("result", "kind"), [
    ({"error": "invalid_client", "error_codes": [7000215]}, AuthError),
    ({"error": "invalid_grant", "error_codes": [70008]}, AuthError),
    ({"error": "unauthorized_client", "error_codes": [700016]}, AuthError),
    ({"error": "invalid_grant", "suberror": "consent_required", "error_codes": [65001]},
     AuthError),
    ({"error": "interaction_required", "error_codes": [65001]}, AuthError),
    ({"error": "temporarily_unavailable"}, TransientError),
    ({"error": "server_error"}, TransientError),
])
def test_msal_error_dicts_become_typed_errors(result: dict[str, object], kind: type) -> None:
    err = error_from_result({**result, "error_description": "AADSTS... secret-ish text"},
                            account_id="acc-1")
    assert isinstance(err, kind)
    assert "acc-1" in err.message and "secret-ish" not in err.message


def test_app_token_is_fetched_once_and_reused(standin: GraphStandIn) -> None:
    standin.add_message(MAILBOX, "inbox", make_message(1))
    provider = OutlookMailProvider(mail_account(standin), context())
    assert sync(provider) == [message_id(1)]
    assert sync(provider) == [message_id(1)]
    assert standin.identity.token_requests == 1


def test_wrong_secret_is_an_auth_error_without_the_secret(
        standin: GraphStandIn, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    account = mail_account(standin, auth=auth_settings(standin, client_secret="wrong-one"))
    with pytest.raises(AuthError) as err:
        sync(OutlookMailProvider(account, context()))
    assert "invalid_client" in err.value.message
    assert "wrong-one" not in err.value.message and "wrong-one" not in caplog.text
    assert standin.graph_requests() == []


def test_revoked_consent_is_an_auth_error(standin: GraphStandIn,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    standin.add_message(MAILBOX, "inbox", make_message(1))
    provider = OutlookMailProvider(mail_account(standin), context())
    assert sync(provider) == [message_id(1)]
    standin.revoke_consent(CLIENT_ID)
    with pytest.raises(AuthError) as err:  # cached token refused, renewal refused
        sync(provider)
    assert "AADSTS65001" in err.value.message
    with pytest.raises(AuthError):  # a fresh process fares no better
        sync(OutlookMailProvider(mail_account(standin), context()))
    assert standin.identity.issued
    assert SECRET not in caplog.text
    assert not any(tok in caplog.text for tok in standin.identity.issued)


def test_unknown_tenant_is_a_config_error(standin: GraphStandIn) -> None:
    account = mail_account(standin, auth=auth_settings(standin, tenant_id="no-such-tenant"))
    with pytest.raises(ConfigError) as err:
        sync(OutlookMailProvider(account, context()))
    assert "tenant_id" in str(err.value)


def test_unreachable_identity_platform_is_transient(standin: GraphStandIn) -> None:
    account = mail_account(standin)
    standin.stop()
    with pytest.raises(TransientError):
        sync(OutlookMailProvider(account, context()))


def delegated_account(standin: GraphStandIn) -> OutlookMailAccount:
    return mail_account(standin, auth={"method": "delegated", "tenant_id": standin.tenant,
                                       "client_id": PUBLIC_CLIENT, "login_proxy": standin.url},
                        folders=["inbox"])


def test_delegated_without_sign_in_needs_reauth(standin: GraphStandIn, tmp_path: Path) -> None:
    standin.register_app(PUBLIC_CLIENT)
    vault = FileTokenVault(tmp_path, "token-key")
    with pytest.raises(AuthError, match="syncd auth microsoft --account rita-mail"):
        sync(OutlookMailProvider(delegated_account(standin), context(vault=vault)))


def test_device_code_flow_end_to_end(standin: GraphStandIn, tmp_path: Path,
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    standin.register_app(PUBLIC_CLIENT)
    standin.add_message(MAILBOX, "inbox", make_message(1))
    account = delegated_account(standin)
    vault = FileTokenVault(tmp_path / "tokens", "token-key")
    shown: list[str] = []

    def prompt(text: str) -> None:  # the human reads the code and signs in
        shown.append(text)
        code = re.search(r"enter the code (\w+)", text)
        assert code is not None
        standin.approve_device_code(code.group(1), MAILBOX)

    assert run_device_code_flow(account, vault, prompt=prompt) == MAILBOX
    assert "https://microsoft.com/devicelogin" in shown[0]
    blob = next((tmp_path / "tokens").iterdir()).read_bytes()
    # encrypted at rest: no issued token and no cache field name in the file (a short
    # marker like "rt-" can occur in base64 ciphertext by chance, a whole token cannot)
    assert standin.identity.issued
    assert not any(tok.encode() in blob for tok in standin.identity.issued)
    assert b"RefreshToken" not in blob
    assert "RefreshToken" in (vault.load(vault_key(account)) or "")

    # a later process: tokens from the vault, Graph through /me
    logins = standin.identity.token_requests
    assert sync(OutlookMailProvider(account, context(vault=vault))) == [message_id(1)]
    assert standin.identity.token_requests == logins  # cached access token reused
    assert all(s.path.startswith("/v1.0/me/") for s in standin.graph_requests())

    # the access token dies server-side: one silent refresh, cache written back
    before = vault.load(vault_key(account))
    standin.identity.tokens.clear()
    assert sync(OutlookMailProvider(account, context(vault=vault))) == [message_id(1)]
    assert vault.load(vault_key(account)) != before

    # the owner's calendar account uses the same sign-in
    standin.add_event(MAILBOX, EventSpec(uid="e@test", title="Call", start=BASE_TIME))
    calendar = calendar_account(standin, auth=account.auth.model_dump(mode="python"))
    evs = events(drain(OutlookCalendarProvider(calendar, context(now=BASE_TIME, vault=vault)))[0])
    assert [e.uid for e in evs] == ["e@test"]

    standin.revoke_consent(PUBLIC_CLIENT)
    with pytest.raises(AuthError, match="consent_required"):
        sync(OutlookMailProvider(account, context(vault=vault)))
    assert not any(tok in caplog.text for tok in standin.identity.issued)


def test_declined_device_code_is_an_auth_error(standin: GraphStandIn, tmp_path: Path) -> None:
    standin.register_app(PUBLIC_CLIENT)

    def prompt(text: str) -> None:
        code = re.search(r"enter the code (\w+)", text)
        assert code is not None
        standin.approve_device_code(code.group(1), MAILBOX, decline=True)

    with pytest.raises(AuthError):
        run_device_code_flow(delegated_account(standin), FileTokenVault(tmp_path, "k"),
                             prompt=prompt)
