"""Fixtures: a running Google stand-in, a service-account key it trusts, accounts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from providers.base import ProviderContext, TokenVault
from providers.google.settings import GmailAccount, GoogleCalendarAccount
from tests.generate import BASE_TIME
from tests.standins.google import GoogleStandIn

REP = "rita@ourco.example"
SA_EMAIL = "syncd@ourco-project.iam.gserviceaccount.com"
#: "now" for every provider in these tests: mail around BASE_TIME is inside the window
NOW = BASE_TIME + timedelta(days=10)
FAST_RETRIES = {"timeout": 5, "max_retries": 4, "base_backoff": 0.02, "max_backoff": 0.2}


class MemoryVault(TokenVault):
    """A vault kept in memory; the daemon's real one is syncd.secrets.FileTokenVault."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def load(self, name: str) -> str | None:
        return self.values.get(name)

    def save(self, name: str, value: str) -> None:
        self.values[name] = value


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def trust(server: GoogleStandIn, rsa_key: rsa.RSAPrivateKey) -> GoogleStandIn:
    """Register the test service account's public key with a stand-in."""
    server.add_service_account(SA_EMAIL, rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return server


@pytest.fixture
def standin(rsa_key: rsa.RSAPrivateKey) -> Iterator[GoogleStandIn]:
    with GoogleStandIn() as server:
        server.add_user(REP)  # the Workspace directory knows the rep, even with no mail
        yield trust(server, rsa_key)


@pytest.fixture
def key_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey, standin: GoogleStandIn) -> Path:
    return write_key_file(tmp_path / "service-account.json", rsa_key, standin)


def write_key_file(path: Path, rsa_key: rsa.RSAPrivateKey, standin: GoogleStandIn) -> Path:
    """A service-account JSON key whose token_uri is the stand-in's."""
    pem = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "ourco-project", "private_key_id": "k1",
        "private_key": pem, "client_email": SA_EMAIL, "client_id": "1234567890",
        "token_uri": standin.token_uri}))
    return path


def endpoints(standin: GoogleStandIn) -> dict[str, str]:
    return {"gmail": standin.gmail_endpoint, "gmail_batch": standin.gmail_batch,
            "calendar": standin.calendar_endpoint, "calendar_batch": standin.calendar_batch}


def gmail_account(standin: GoogleStandIn, key_file: Path, user: str = REP,
                  **overrides: Any) -> GmailAccount:
    data: dict[str, Any] = {
        "id": f"gmail-{user.split('@')[0]}", "provider": "gmail", "owner": user,
        "auth": {"method": "service_account", "service_account_file": str(key_file)},
        "endpoints": endpoints(standin), "transport": FAST_RETRIES, "backfill_days": 30,
        "quota_units_per_second": 250}
    data.update(overrides)
    return GmailAccount.model_validate(data)


def calendar_account(standin: GoogleStandIn, key_file: Path, user: str = REP,
                     **overrides: Any) -> GoogleCalendarAccount:
    data: dict[str, Any] = {
        "id": f"gcal-{user.split('@')[0]}", "provider": "google_calendar", "owner": user,
        "auth": {"method": "service_account", "service_account_file": str(key_file)},
        "endpoints": endpoints(standin), "transport": FAST_RETRIES,
        "past_days": 30, "future_days": 60, "quota_units_per_second": 250}
    data.update(overrides)
    return GoogleCalendarAccount.model_validate(data)


def context(now: datetime = NOW, privacy: str = "subject",
            vault: TokenVault | None = None) -> ProviderContext:
    return ProviderContext(privacy=privacy, vault=vault, now=lambda: now)
