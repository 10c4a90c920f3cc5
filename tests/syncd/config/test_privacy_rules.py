"""``privacy.private_events``, ``matching.role_addresses`` and ``matching.skip_free_mail_only``
through the real CLI: defaults, and bad values exit 2 naming the key path and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.config.policies import policy_for
from tests.syncd.config.test_config import LOCAL_ACCOUNT, assert_config_error, check, write


@pytest.mark.parametrize(("text", "fragments"), [
    ("privacy: {private_events: hide}",
     ("privacy.private_events", "'hide' is not allowed", "'busy' or 'skip'")),
    ("matching: {role_addresses: [ok-*, sales@acme.example]}",
     ("matching.role_addresses[1]", "local part only (no '@')", "'sales-*'")),
    ("matching: {role_addresses: ['']}",
     ("matching.role_addresses[0]", "non-empty local-part pattern")),
    ("matching: {skip_free_mail_only: sometimes}",
     ("matching.skip_free_mail_only",)),
])
def test_bad_values_exit_2_naming_the_key(tmp_path: Path, text: str,
                                          fragments: tuple[str, ...]) -> None:
    assert_config_error(check(write(tmp_path, text + "\n" + LOCAL_ACCOUNT)), *fragments)


def test_defaults_and_values_reach_the_policy(tmp_path: Path) -> None:
    from syncd.config import load_settings

    default = load_settings(write(tmp_path, LOCAL_ACCOUNT, "a.yaml"))
    assert default.privacy.private_events == "busy"
    assert not default.matching.skip_free_mail_only and default.matching.role_addresses == []
    given = load_settings(write(tmp_path, "privacy: {private_events: skip}\n"
                                "matching: {role_addresses: [Sales-*, ' desk '], "
                                "skip_free_mail_only: true}\n" + LOCAL_ACCOUNT, "b.yaml"))
    assert given.privacy.private_events == "skip"
    policy = policy_for(given, given.accounts[0])
    assert policy.role_addresses == ("sales-*", "desk") and policy.skip_free_mail_only
