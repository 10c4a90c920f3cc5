"""Bearer tokens: 401 without a valid one (never a hint which exist), 403 without the
scope, and no token ever in a log line — through the real ``syncd api`` process."""

from __future__ import annotations

import json
import time

import httpx

from tests.syncd.api.conftest import TOKENS, Served, auth, problem


def test_no_token_a_wrong_token_or_another_scheme_get_the_same_401(served: Served) -> None:
    url = served.url + "/v1/opportunities"
    answers = [
        httpx.get(url),
        httpx.get(url, headers={"Authorization": "Bearer not-a-token-of-ours-at-all"}),
        httpx.get(url, headers={"Authorization": f"Bearer {TOKENS['admin'][0]}x"}),
        httpx.get(url, headers={"Authorization": f"Basic {TOKENS['admin'][0]}"}),
        httpx.get(url, headers={"Authorization": "Bearer"}),
    ]
    bodies = [problem(r, 401) for r in answers]
    assert all(body == bodies[0] for body in bodies)
    assert all(r.headers["www-authenticate"].startswith("Bearer") for r in answers)
    for name in TOKENS:  # no token's name, viewer or existence is hinted at
        assert name not in json.dumps(bodies[0])


def test_a_token_without_the_read_scope_is_403(served: Served) -> None:
    doc = problem(served.get("/v1/opportunities", token="writer"), 403)
    assert "'read'" in str(doc["detail"])


def test_every_read_scope_token_reads(served: Served) -> None:
    for name in ("admin", "rita", "sam"):
        assert served.get("/v1/opportunities", token=name).status_code == 200


def test_the_openapi_document_needs_no_token(served: Served) -> None:
    response = httpx.get(served.url + "/v1/openapi.json")
    assert response.status_code == 200 and response.json()["openapi"] == "3.1.0"


def test_tokens_never_reach_the_log_but_the_callers_name_does(served: Served) -> None:
    for name in TOKENS:
        httpx.get(served.url + "/v1/accounts", headers=auth(name))
    httpx.get(served.url + "/v1/accounts",
              headers={"Authorization": "Bearer wrong-token-0123456789abcdef"})
    deadline = time.monotonic() + 10
    while True:  # the access log line is written as the response goes out, not before
        text = served.log.read_text()
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        requests = [line for line in lines if line.get("event") == "api request"]
        callers = {line["caller"] for line in requests if line["path"] == "/v1/accounts"}
        if callers >= {"admin", "rita", "sam", "writer", None}:
            break
        assert time.monotonic() < deadline, "the access log missed a request"
        time.sleep(0.05)
    for token, _viewer, _scopes in TOKENS.values():
        assert token not in text
    assert "wrong-token-0123456789abcdef" not in text
    assert {line["status"] for line in requests if line["caller"] == "writer"} == {403}
    assert not any("authorization" in json.dumps(line).lower() for line in requests)


def test_url_safe_bearer_tokens_are_masked_in_any_log_text() -> None:
    from syncd.logs import MASK, redact_text

    for token in ("ab_cdefghijkl", "a-b_c.d~e+f/g=", "syncd_0123456789"):
        text = redact_text(f"retrying with Bearer {token} now")
        assert token not in text and f"Bearer {MASK}" in text
