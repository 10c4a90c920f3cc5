"""`syncd import` of CRM exports through the real CLI (both databases).

The files under tests/syncd/directory/exports/ hold the same invented
directory in the header shape of each export: three companies, four
contacts (one by a name no company has, found by its email domain), two
deals (one closed, where the export says so).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from syncd.store.database import Database
from syncd.store.schema import Company, CompanyDomain, Contact, ContactEmail, Opportunity
from tests.fixtures.demo import run

EXPORTS = Path(__file__).resolve().parents[1] / "directory" / "exports"

#: export → (companies file, contacts file, opportunities file, Ada's second address given,
#: the pilot deal closed by the file)
SHAPES = {
    "hubspot": ("hubspot-companies", "hubspot-contacts", "hubspot-deals", True, True),
    "salesforce": ("salesforce-accounts", "salesforce-contacts", "salesforce-opportunities",
                   False, True),
    "pipedrive": ("pipedrive-organizations", "pipedrive-people", "pipedrive-deals", True, True),
    "twenty": ("twenty-companies", "twenty-people", "twenty-opportunities", True, False),
    "zoho": ("zoho-accounts", "zoho-contacts", "zoho-deals", True, True),
    "spreadsheet": ("spreadsheet-companies", "spreadsheet-contacts",
                    "spreadsheet-opportunities", True, True),
}


@pytest.fixture
def store(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    try:
        yield db
    finally:
        db.dispose()


def imported(config: Path, kind: str, name: str, *extra: str) -> None:
    result = run(config, "import", kind, str(EXPORTS / f"{name}.csv"), *extra)
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.stdout


@pytest.mark.parametrize("shape", list(SHAPES))
def test_each_export_imports_by_its_own_headers(shape: str, demo_config: Path,
                                                store: Database) -> None:
    companies, contacts, deals, second_address, pilot_closed = SHAPES[shape]
    imported(demo_config, "companies", companies)
    imported(demo_config, "contacts", contacts)
    imported(demo_config, "opportunities", deals)
    with store.session(write=False) as s:
        domains = {name: sorted(d for d in s.scalars(
            select(CompanyDomain.domain).join(Company).where(Company.name == name)))
            for name in s.scalars(select(Company.name))}
        assert domains == {"Acme Rockets": ["acme-rockets.example"],
                           "Globex Labs": ["globex-labs.example"],  # from its website URL
                           "Initech": ["initech.example"]}
        company_names = {cid: name for cid, name in s.execute(select(Company.id, Company.name))}
        people = {c.name: (sorted(e.address for e in c.emails),
                           company_names.get(c.company_id) if c.company_id else None,
                           c.title)
                  for c in s.scalars(select(Contact))}
        ada = ["ada@acme-rockets.example"] + (["ada.quill@example.com"] if second_address
                                              else [])
        assert people["Ada Quill"][:2] == (sorted(ada), "Acme Rockets")
        assert people["Ben Ortiz"][:2] == (["ben@globex-labs.example"], "Globex Labs")
        # by name, case-insensitively
        assert people["Cleo Park"][:2] == (["cleo@initech.example"], "Initech")
        # "Acme Rockets Inc." names no company: the email domain decides
        assert people["Dev Marsh"][:2] == (["dev@acme-rockets.example"], "Acme Rockets")
        assert len(people) == 4
        if shape != "pipedrive":  # Pipedrive people exports carry no title
            assert people["Ada Quill"][2] == "CTO"
        deals_by_name = {o.name: (company_names[o.company_id], o.is_open)
                         for o in s.scalars(select(Opportunity))}
        assert deals_by_name == {"Rocket fuel renewal": ("Acme Rockets", True),
                                 "Globex pilot": ("Globex Labs", not pilot_closed)}
    # re-importing the export changes nothing
    again = run(demo_config, "import", "contacts", str(EXPORTS / f"{contacts}.csv"),
                "--format", "json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {"created": 0, "updated": 0, "unchanged": 4,
                                        "linked": 0, "errors": []}


def test_dry_run_shows_the_mapping_and_rows_and_writes_nothing(demo_config: Path,
                                                               store: Database) -> None:
    imported(demo_config, "companies", "hubspot-companies")
    with store.session(write=False) as s:
        before = (s.scalar(select(func.count()).select_from(Contact)),
                  s.scalar(select(func.count()).select_from(ContactEmail)))
    result = run(demo_config, "import", "contacts", str(EXPORTS / "hubspot-contacts.csv"),
                 "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["looks_like"] == "HubSpot"
    assert {c["field"]: c["from"] for c in doc["columns"]} == {
        "name": ["First Name", "Last Name"], "emails": ["Email", "Additional email addresses"],
        "company": ["Company Name"], "title": ["Job Title"]}
    assert doc["ignored"] == ["Record ID", "Contact owner", "Lifecycle Stage"]
    assert doc["rows"][0] == {"line": 2, "values": {
        "name": "Ada Quill", "emails": "ada@acme-rockets.example;ada.quill@example.com",
        "company": "Acme Rockets", "title": "CTO"}}
    assert len(doc["rows"]) == 4
    table = run(demo_config, "import", "contacts", str(EXPORTS / "hubspot-contacts.csv"),
                "--dry-run")
    assert table.exit_code == 0, table.output
    for text in ("looks like a HubSpot export", "First Name + Last Name (joined)",
                 "ignored: Record ID, Contact owner, Lifecycle Stage", "Ada Quill",
                 "nothing was written"):
        assert text in table.stdout, table.stdout
    with store.session(write=False) as s:
        assert (s.scalar(select(func.count()).select_from(Contact)),
                s.scalar(select(func.count()).select_from(ContactEmail))) == before == (0, 0)


def test_unknown_required_column_exits_2_naming_the_map(demo_config: Path,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("Who,Mail Address,Org\nAda,ada@acme-rockets.example,Acme Rockets\n",
                    encoding="utf-8")
    result = run(demo_config, "import", "contacts", str(path))
    assert result.exit_code == 2
    assert "missing column(s) emails" in result.stderr
    assert "candidates: 'Mail Address';" in result.stderr
    assert '--map emails="Mail Address"' in result.stderr
    # the --map it names works
    imported(demo_config, "companies", "spreadsheet-companies")
    result = run(demo_config, "import", "contacts", str(path), "--map", "emails=Mail Address",
                 "--map", "name=Who", "--map", "company=Org", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["created"] == 1


def test_ambiguous_columns_exit_2_and_a_map_picks_one(demo_config: Path,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("Email,Full Name,Contact Name\nada@acme-rockets.example,Ada Quill,Ada\n",
                    encoding="utf-8")
    result = run(demo_config, "import", "contacts", str(path))
    assert result.exit_code == 2
    assert "'Full Name' and 'Contact Name'" in result.stderr
    assert '--map name="Contact Name"' in result.stderr
    result = run(demo_config, "import", "contacts", str(path), "--map", "name=Full Name",
                 "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["rows"][0]["values"]["name"] == "Ada Quill"
    assert "Contact Name" in doc["ignored"]


@pytest.mark.parametrize("args, message", [
    (["--map", "nonsense"], "write our_column=their_column"),
    (["--map", "phone=Email"], "'phone' is not one of ours"),
    (["--map", "emails=Nope"], "the file has no column 'Nope'"),
])
def test_bad_maps_exit_2(demo_config: Path, args: list[str], message: str) -> None:
    result = run(demo_config, "import", "contacts", str(EXPORTS / "zoho-contacts.csv"), *args)
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_our_own_columns_keep_their_meaning(demo_config: Path, tmp_path: Path,
                                            store: Database) -> None:
    """Export-looking extra columns next to ours are ignored, as before."""
    path = tmp_path / "contacts.csv"
    path.write_text("name,emails,First Name,Last Name,Email\n"
                    "Ada Q.,ada@acme-rockets.example,Ada,Quill,other@globex-labs.example\n",
                    encoding="utf-8")
    result = run(demo_config, "import", "contacts", str(path), "--dry-run", "--format", "json")
    doc = json.loads(result.stdout)
    assert [(c["field"], c["from"], c["origin"]) for c in doc["columns"]] == [
        ("name", ["name"], "ours"), ("emails", ["emails"], "ours")]
    assert doc["ignored"] == ["First Name", "Last Name", "Email"]
    result = run(demo_config, "import", "contacts", str(path))
    assert result.exit_code == 0, result.output
    with store.session(write=False) as s:
        [contact] = s.scalars(select(Contact))
        assert contact.name == "Ada Q."
        assert [e.address for e in contact.emails] == ["ada@acme-rockets.example"]


def test_progress_bar_on_a_terminal(demo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("syncd.cli.imports._on_terminal", lambda: True)
    result = run(demo_config, "import", "companies", str(EXPORTS / "zoho-accounts.csv"))
    assert result.exit_code == 0, result.output
    assert "zoho-accounts.csv" in result.stderr and "3/3" in result.stderr
    assert "3 created" in result.stdout
