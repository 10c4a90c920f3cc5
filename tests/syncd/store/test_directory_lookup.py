"""directory_lookup: the page snapshot on SQLite and PostgreSQL, and its query plan."""

from __future__ import annotations

from matching import ContactRef, DirectorySnapshot, build_policy, resolve
from syncd.store.database import Database
from syncd.store.directory_lookup import _SQL, load_snapshot, snapshot_for
from syncd.store.schema import Company, CompanyDomain, Contact, ContactEmail

POLICY = build_policy(internal_domains=["ourco.com"])


def seed(db: Database) -> None:
    with db.session() as s:
        s.add_all([Company(id=1, name="Acme"), Company(id=2, name="Acme EU"),
                   Company(id=3, name="Mail")])
        s.add_all([CompanyDomain(company_id=1, domain="acme.co.uk"),
                   CompanyDomain(company_id=2, domain="eu.acme.co.uk"),
                   CompanyDomain(company_id=3, domain="gmail.com")])  # a bad import
        s.add_all([Contact(id=10, name="Anna", company_id=1), Contact(id=11, name="Ben"),
                   Contact(id=12, name="Other Anna", company_id=2),
                   Contact(id=13, name="Colleague")])
        s.add_all([ContactEmail(contact_id=10, address="anna@acme.co.uk"),
                   ContactEmail(contact_id=10, address="annap@gmail.com"),
                   ContactEmail(contact_id=11, address="ben@eu.acme.co.uk"),
                   ContactEmail(contact_id=12, address="anna@acme.co.uk"),
                   ContactEmail(contact_id=13, address="me@ourco.com"),
                   ContactEmail(contact_id=11, address="jörg@xn--bcher-kva.de")])


def test_load_snapshot_returns_exactly_the_rows_of_the_keys(database: Database) -> None:
    seed(database)
    with database.session(write=False) as s:
        snap = load_snapshot(
            s, ["anna@acme.co.uk", "jörg@xn--bcher-kva.de", "nobody@acme.co.uk",
                "anna@acme.co.uk"], ["eu.acme.co.uk", "acme.co.uk", "initech.io"])
        assert snap == DirectorySnapshot(
            contacts={"anna@acme.co.uk": (ContactRef(10, 1), ContactRef(12, 2)),
                      "jörg@xn--bcher-kva.de": (ContactRef(11, None),)},
            companies={"eu.acme.co.uk": 2, "acme.co.uk": 1},
        )
        assert load_snapshot(s, [], []) == DirectorySnapshot(contacts={}, companies={})


def test_rows_added_in_the_same_session_are_seen(database: Database) -> None:
    seed(database)
    with database.session() as s:
        s.add(Contact(id=20, name="New", company_id=1,
                      emails=[ContactEmail(address="new@acme.co.uk")]))
        s.add(CompanyDomain(company_id=3, domain="initech.io"))
        snap = snapshot_for(s, ["new@acme.co.uk", "x@initech.io"], POLICY)
    assert snap.contacts == {"new@acme.co.uk": (ContactRef(20, 1),)}
    assert snap.companies == {"acme.co.uk": 1, "initech.io": 3}


def test_snapshot_for_a_page_decides_like_the_whole_directory(database: Database) -> None:
    seed(database)
    page = ["Anna@ACME.co.uk", "ben@eu.acme.co.uk", "new@eu.acme.co.uk", "A.Nna.P@googlemail.com",
            "me@ourco.com", "x@gmail.com", "junk", "anna@acme.co.uk"]
    whole = DirectorySnapshot(
        contacts={"anna@acme.co.uk": (ContactRef(10, 1), ContactRef(12, 2)),
                  "annap@gmail.com": (ContactRef(10, 1),),
                  "ben@eu.acme.co.uk": (ContactRef(11, None),),
                  "me@ourco.com": (ContactRef(13, None),)},
        companies={"acme.co.uk": 1, "eu.acme.co.uk": 2, "gmail.com": 3},
    )
    with database.session(write=False) as s:
        snap = snapshot_for(s, page, POLICY)
    # neither the internal address nor the free-mail domain is looked up
    assert "me@ourco.com" not in snap.contacts and "gmail.com" not in snap.companies
    assert resolve(page, snap, POLICY) == resolve(page, whole, POLICY)
    decided = resolve(page, snap, POLICY)
    assert decided["new@eu.acme.co.uk"].company_id == 2  # the subsidiary's subdomain wins
    assert decided["Anna@ACME.co.uk"].contact_id == 10
    assert decided["Anna@ACME.co.uk"].ambiguous == (12,)


def test_sqlite_lookup_reads_only_covering_indexes(tmp_path: object) -> None:
    """Also without ANALYZE statistics (a new store), where SQLite would take the rowid."""
    db = Database(f"sqlite:///{tmp_path}/plan.db")
    try:
        db.migrate()
        with db.engine.connect() as conn:
            contacts_sql, companies_sql = _SQL["sqlite"]
            plan = [row[-1] for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + contacts_sql, ('["a@b.c"]',))]
            companies_plan = [row[-1] for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + companies_sql, ('["b.c"]',))]
        # one probe per key, from the key list, into indexes only
        assert plan[0].startswith("SCAN k"), plan
        assert "COVERING INDEX ix_contact_emails_address_contact_id" in plan[1], plan
        assert "COVERING INDEX ix_contacts_id_company_id" in plan[2], plan
        assert not any("TEMP B-TREE" in p for p in plan), plan
        assert companies_plan[0].startswith("SCAN k"), companies_plan
        assert "INDEX sqlite_autoindex_company_domains_1 (domain=?)" in companies_plan[1]
    finally:
        db.dispose()
