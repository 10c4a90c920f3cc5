"""Root of the test suite: shared fixtures live in tests/fixtures/ as plugins."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.demo",
    "tests.fixtures.dovecot",
    "tests.fixtures.radicale",
]
