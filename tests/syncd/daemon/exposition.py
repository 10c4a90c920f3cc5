"""Reading Prometheus text expositions in tests: samples by name and labels, in any order.

prometheus_client writes a series' labels sorted by name, so a test that
spells a sample the way a dashboard query reads
(``syncd_errors_total{account="a",provider="imap",class="auth"} 1``)
compares parsed samples, not substrings.
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

SampleKey = tuple[str, frozenset[tuple[str, str]]]


def samples(text: str) -> dict[SampleKey, float]:
    """Every sample of an exposition: (name, labels) -> value."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def has_sample(text: str, expected: str) -> bool:
    """Whether ``text`` has the sample ``name{labels} value`` (the value may be left out)."""
    line = expected.strip()
    with_value = not line.endswith("}")
    [(key, value)] = samples(line if with_value else line + " 0").items()
    found = samples(text)
    return key in found and (not with_value or found[key] == value)
