"""``syncd purge`` and ``syncd import opportunities`` as people run them, on SQLite
and PostgreSQL (the store is filled by the real engine from scripted pages)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import yaml
from click.testing import CliRunner, Result
from sqlalchemy import select

from providers.base import Address, Page
from syncd.cli import cli
from syncd.config.model import Settings
from syncd.store.database import Database
from syncd.store.schema import Interaction, Participant, Reminder, Source, UnmatchedAddress
from tests.generate import BASE_TIME
from tests.syncd.sync.test_privacy import REP, SAM, count, engine_for, mail

NOW = BASE_TIME + timedelta(days=1)
ACME = re.compile(r"[@.]acme\.example")


def seed(database: Database, tmp_path: Path) -> Path:
    config = {
        "state_dir": str(tmp_path),
        "store": {"url": database.url.render_as_string(hide_password=False)},
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"provider": "local", "id": "rita", "owner": REP.email},
                     {"provider": "local", "id": "sam", "owner": SAM.email}],
    }
    path = tmp_path / "syncd.yaml"
    path.write_text(yaml.safe_dump(config))
    settings = Settings.model_validate(config)
    shared = mail(1, sender=Address("ann@acme.example"), to=(REP, SAM))
    script = {
        "rita": [Page("INBOX", [
            shared,
            mail(2, sender=REP, to=(Address("bo@eu.mail.acme.example"),)),  # awaits a reply
            mail(3, sender=Address("joe@gmail.com")),
            mail(4, sender=Address("zed@zeta.example")),
            mail(5, sender=Address("amy@notacme.example")),  # a suffix, not a subdomain
        ])],
        "sam": [Page("INBOX", [shared])],
    }
    engine = engine_for(database, settings, script)
    assert all(engine.sync_account(a).ok for a in settings.accounts)
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def subjects(database: Database) -> list[str | None]:
    with database.session(write=False) as s:
        return list(s.scalars(select(Interaction.subject).order_by(Interaction.occurred_at)))


def test_purge_a_domain_with_subdomains_dry_run_then_for_real(
        database: Database, tmp_path: Path) -> None:
    config = seed(database, tmp_path)
    with database.session(write=False) as s:
        assert any(ACME.search(r or "") for r in s.scalars(
            select(Reminder.subject).where(Reminder.status == "open")))
    dry = run(config, "purge", "--domain", "ACME.example", "--dry-run", "--format", "json")
    assert dry.exit_code == 0, dry.output
    counted = json.loads(dry.stdout)
    assert (counted["interactions"], counted["participants"], counted["sources"]) == (2, 5, 3)
    assert len(subjects(database)) == 5 and count(database, Source) == 6  # nothing changed

    real = run(config, "purge", "--domain", "acme.example", "--format", "json")
    assert real.exit_code == 0, real.output
    report = json.loads(real.stdout)
    assert report["interactions"] == 2 and report["sources"] == 3
    assert report["participants"] == 5 and report["reminders"] >= 1
    assert report["domains"] == ["acme.example"] and report["dry_run"] is False
    assert subjects(database) == ["Subject 3", "Subject 4", "Subject 5"]
    with database.session(write=False) as s:
        left = set(s.scalars(select(Participant.address)))
        assert not any("acme.example" in a and "notacme" not in a for a in left)
        still_open = list(s.scalars(select(Reminder.subject).where(Reminder.status == "open")))
        assert still_open and not any(ACME.search(r or "") for r in still_open)
        unmatched = set(s.scalars(select(UnmatchedAddress.address)))
        assert "ann@acme.example" not in unmatched and "zed@zeta.example" in unmatched

    again = run(config, "purge", "--domain", "acme.example")
    assert again.exit_code == 0 and "removed 0 interaction(s)" in again.stdout


def test_purge_addresses_canonically_and_per_account(database: Database,
                                                    tmp_path: Path) -> None:
    config = seed(database, tmp_path)
    table = run(config, "purge", "--address", "J.O.E+news@googlemail.com")
    assert table.exit_code == 0, table.output
    assert "joe@gmail.com" in table.stdout and "removed 1 interaction(s)" in table.stdout
    # sam's copy of the shared mail survives a purge scoped to rita's account
    scoped = run(config, "purge", "--address", "ann@acme.example", "--account", "rita",
                 "--format", "json")
    assert json.loads(scoped.stdout)["interactions"] == 0
    assert json.loads(scoped.stdout)["sources"] == 1
    assert subjects(database) == ["Subject 1", "Subject 2", "Subject 4", "Subject 5"]
    with database.session(write=False) as s:
        assert list(s.scalars(select(Source.account_id).join(Interaction)
                              .where(Interaction.subject == "Subject 1"))) == ["sam"]
    assert count(database, Interaction) == 4


def test_purge_refuses_bad_input(database: Database, tmp_path: Path) -> None:
    config = seed(database, tmp_path)
    assert run(config, "purge").exit_code == 2
    bad = run(config, "purge", "--address", "not an address")
    assert bad.exit_code == 2 and "not an email address" in bad.output
    assert run(config, "purge", "--domain", "acme.example", "--account", "nobody").exit_code == 2
    assert len(subjects(database)) == 5


def test_import_opportunities_command(database: Database, tmp_path: Path) -> None:
    config = seed(database, tmp_path)
    (tmp_path / "companies.csv").write_text("name,domains\nAcme,acme.example\n")
    assert run(config, "import", "companies", str(tmp_path / "companies.csv")).exit_code == 0
    opps = tmp_path / "opps.csv"
    opps.write_text("company,name,stage,owner,status\nacme.example,Renewal,proposal,"
                    "rita@ourco.example,open\nnowhere.example,X,,,open\n")
    result = run(config, "import", "opportunities", str(opps), "--format", "json")
    assert result.exit_code == 1  # one bad row
    report = json.loads(result.stdout)
    assert report["created"] == 1 and report["linked"] == 2
    assert report["errors"][0]["line"] == 3
    assert f"{opps}:3:" in result.stderr


def test_purge_a_free_mail_domain_and_a_scoped_dry_run(database: Database,
                                                       tmp_path: Path) -> None:
    config = seed(database, tmp_path)
    # free mail is stored without a registrable domain: the suffix scan finds it
    dry = run(config, "purge", "--domain", "gmail.com", "--account", "rita", "--dry-run",
              "--format", "json")
    assert json.loads(dry.stdout)["interactions"] == 1 and len(subjects(database)) == 5
    shared = run(config, "purge", "--address", "ann@acme.example", "--account", "sam",
                 "--dry-run", "--format", "json")
    assert json.loads(shared.stdout)["matched"] == 1
    assert json.loads(shared.stdout)["interactions"] == 0  # rita's copy would keep it
    real = run(config, "purge", "--domain", "googlemail.com", "--format", "json")
    assert json.loads(real.stdout)["interactions"] == 1
    assert "Subject 3" not in subjects(database)
