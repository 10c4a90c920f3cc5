"""The ``relationships`` section: defaults, and a bad value exits 2 naming its key path
through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from syncd.cli import cli
from syncd.config.model import Settings


def test_defaults() -> None:
    conf = Settings().relationships
    assert conf.half_life_days == 30 and conf.saturation == 10
    assert (conf.weights.two_way_email, conf.weights.meeting,
            conf.weights.one_way_email) == (1.0, 2.0, 0.1)


@pytest.mark.parametrize(("body", "path"), [
    ("relationships: {half_life_days: 0}", "relationships.half_life_days"),
    ("relationships: {weights: {meeting: -1}}", "relationships.weights.meeting"),
    ("relationships: {weights: {calls: 1}}", "relationships.weights.calls"),
    ("relationships: {saturation: x}", "relationships.saturation"),
])
def test_a_bad_value_exits_2_naming_the_key(tmp_path: Path, body: str, path: str) -> None:
    config = tmp_path / "syncd.yaml"
    config.write_text(body + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert path in result.output
