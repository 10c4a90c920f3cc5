"""The README's curl walkthrough of the HTTP API, run as written against the demo.

The README's shell block under "HTTP API" is executed by bash, unchanged but
for the API's address, against the real ``syncd run`` on the bundled demo
(SQLite and PostgreSQL). Each step's effect is checked in what curl printed,
so the walkthrough a newcomer follows cannot rot silently.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.fixtures.demo import DEMO, REPO, run
from tests.fixtures.servers import free_port, wait_listening
from tests.syncd.api.conftest import spawn, stop

pytestmark = pytest.mark.skipif(subprocess.run(["which", "curl"], capture_output=True,
                                               check=False).returncode != 0,
                                reason="the walkthrough uses curl")

ADMIN = {"Authorization": "Bearer demo-only-admin-token"}


def walkthrough() -> str:
    """The README's first ``sh`` block after the "## HTTP API" heading."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## HTTP API"):]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "README: the HTTP API section has no sh block"
    return match.group(1)


def test_the_readme_walkthrough_runs_on_the_demo(fresh_demo_config: Path,
                                                 tmp_path: Path) -> None:
    demo_config = fresh_demo_config
    port = free_port()
    data = yaml.safe_load(demo_config.read_text(encoding="utf-8"))
    data["api"]["listen"] = f"127.0.0.1:{port}"
    demo_config.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert run(demo_config, "import", "companies", str(DEMO / "companies.csv")).exit_code == 0
    assert run(demo_config, "import", "contacts", str(DEMO / "contacts.csv")).exit_code == 0
    log = tmp_path / "run.log"
    proc = spawn(demo_config, ["run"], log)
    try:
        wait_listening("syncd run", port, proc, log, timeout=60)
        api = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 60
        while not httpx.get(f"{api}/timeline", params={"company": 1},
                            headers=ADMIN).json()["items"]:
            assert time.monotonic() < deadline, "the demo's first pass wrote nothing"
            time.sleep(0.2)
        script = walkthrough().replace("http://127.0.0.1:8090/v1", api)
        done = subprocess.run(["bash", "-eu", "-c", script], capture_output=True,
                              text=True, timeout=120, check=False)
    finally:
        stop(proc)
    out = done.stdout
    assert done.returncode == 0, done.stderr + out[-3000:]
    squashed = re.sub(r"\s+", "", out)  # pretty-printed and compact JSON alike
    assert '"status":401' in squashed                        # no token
    assert '"name":"HankScorpio"' in squashed and '"rollups":{' in squashed
    assert '"visibility":"metadata","subject":null' in squashed  # Sam reads no content
    assert "answered by a call" in out                       # the call closed the follow_up
    assert '"kind":"note","author":"rita@ourco.example"' in squashed
    assert '"rule":"manual"' in squashed and '"created_by":"rita@ourco.example"' in squashed
    assert '"snoozed_until":"2027-01-11T09:00:00Z"' in squashed
    assert '"match":"not_customer"' in squashed              # the correction, shown
    assert '"status":403' in squashed                        # Sam's token is read only
    assert '"name":"kind"' in squashed and '"allowed":["email"' in squashed
    assert '"type":"company.created"' in squashed            # the feed
    assert '"openapi":"3.1' in squashed
    assert '"status":5' not in squashed and "Internal Server Error" not in out
