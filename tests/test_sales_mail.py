"""tests.sales_mail: deterministic by seed, and shaped as its docstring promises."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

from providers.rfc5322 import parse_message, split_headers
from tests.sales_mail import (
    FREE_MAIL,
    INTERNAL_DOMAIN,
    sales_directory,
    sales_mailbox,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def digest(raws: list[bytes]) -> str:
    return hashlib.sha256(b"\0".join(raws)).hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    first = sales_mailbox(600, now=NOW, seed=4)
    assert digest(first) == digest(sales_mailbox(600, now=NOW, seed=4))
    assert digest(first) != digest(sales_mailbox(600, now=NOW, seed=5))
    assert sales_directory(seed=4) == sales_directory(seed=4) != sales_directory(seed=5)
    assert len(first) == 600


def test_directory_has_companies_contacts_free_mail_and_colleagues() -> None:
    directory = sales_directory(seed=1)
    assert len(directory.companies) == 800 and len(directory.contacts) == 5000
    free = [p for p in directory.contacts if p.email.partition("@")[2] in FREE_MAIL]
    assert 200 < len(free) < 800 and all(p.company_domain is None for p in free)
    assert all(p.email.endswith("@" + INTERNAL_DOMAIN) for p in directory.colleagues)
    assert directory.companies_csv().count("\n") == 801
    assert directory.contacts_csv().count("\n") == 5001


def test_mail_has_the_promised_features_in_plausible_shares() -> None:
    raws = sales_mailbox(3000, now=NOW, seed=9)
    heads = [raw.split(b"\r\n\r\n", 1)[0] for raw in raws]

    def share(test: Callable[[bytes, bytes], bool]) -> float:
        return sum(1 for h, r in zip(heads, raws, strict=True) if test(h, r)) / len(raws)

    assert 0.02 < share(lambda h, r: b"text/calendar" in r) < 0.05
    assert 0.06 < share(lambda h, r: b"application/octet-stream" in r) < 0.12
    assert 0.07 < share(lambda h, r: b"Precedence: bulk" in h) < 0.13
    assert 0.2 < share(lambda h, r: b"=?" in h) < 0.36
    assert share(lambda h, r: b"multipart/alternative" in r) > 0.95
    assert share(lambda h, r: b"DKIM-Signature" in h and b"Received:" in h) == 1.0
    threads: dict[str, int] = {}
    for raw in raws:
        headers, _ = split_headers(raw)
        if "references" in headers:
            root = headers["references"].split()[0]
            threads[root] = threads.get(root, 1) + 1
    assert threads and max(threads.values()) <= 15
    most = max(len(parse_message(r, provider_id="x").to) + len(parse_message(
        r, provider_id="x").cc) + 1 for r in raws[:500])
    assert 3 <= most <= 6
