"""Root of the test suite: shared fixtures live in tests/fixtures/ as plugins."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Property tests check results, never speed: a busy machine (the suite's servers,
# parallel jobs) must not fail them for generating examples slowly.
settings.register_profile("syncd", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("syncd")

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.demo",
    "tests.fixtures.dovecot",
    "tests.fixtures.radicale",
]
