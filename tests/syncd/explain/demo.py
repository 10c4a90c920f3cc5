"""The bundled demo synced into a test store, for the explain tests (CLI and API).

The demo (config/demo/) as ``demo_config`` has it, plus a blocklisted sender
(Peter Gibbons, so his mail is skipped as blocklisted), its companies and
contacts imported, and one open opportunity at Globex, so every part of an
explain answer has something to say.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.fixtures.demo import DEMO, run

BLOCKED = "peter.gibbons@gmail.com"
#: Message-ID -> (logged?, skip reason when not)
MESSAGES: dict[str, tuple[bool, str | None]] = {
    "demo-001@acme.example": (True, None),
    "demo-002@ourco.example": (True, None),
    "demo-003@acme-corp.example": (True, None),
    "demo-004@globex.example": (True, None),
    "demo-005@gmail.com": (False, "blocklisted"),     # from Peter (blocklisted)
    "demo-006@ourco.example": (False, "blocklisted"),  # to Peter
    "demo-007@ourco.example": (True, None),
    "demo-008@updates.saasweekly.example": (False, "automated"),  # the newsletter
    "demo-009@ourco.example": (False, "internal_only"),  # the team lunch
    "demo-010@ourco.example": (True, None),
}
#: iCalUID -> (logged?, skip reason when not)
EVENTS: dict[str, tuple[bool, str | None]] = {
    "demo-globex-discovery@ourco.example": (True, None),
    "demo-acme-renewal-review@ourco.example": (True, None),
    "demo-globex-onboarding@ourco.example": (True, None),
    "demo-pipeline-review@ourco.example": (False, "internal_only"),
}


def prepare(config: Path, *, api_port: int | None = None) -> Path:
    """Block Peter, import the directory and a Globex deal, sync once."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data.setdefault("matching", {})["blocklist"] = [BLOCKED]
    data["scheduler"]["fetch_process"] = "never"
    if api_port is not None:
        data["api"]["listen"] = f"127.0.0.1:{api_port}"
    data["logging"] = {"level": "warning", "format": "json"}
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    deals = config.parent / "opportunities.csv"
    deals.write_text("Company,Deal,Stage,Owner,Status\n"
                     "globex.example,Globex onboarding,Discovery,rita@ourco.example,open\n",
                     encoding="utf-8")
    for what, path in (("companies", DEMO / "companies.csv"),
                       ("contacts", DEMO / "contacts.csv"), ("opportunities", deals)):
        result = run(config, "import", what, str(path))
        assert result.exit_code == 0, result.output
    result = run(config, "sync", "--once")
    assert result.exit_code == 0, result.output
    return config


def explain_json(config: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run(config, "explain", *args, "--format", "json")
    return result.exit_code, json.loads(result.stdout)
