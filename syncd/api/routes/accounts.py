"""``GET /v1/accounts``: the sync status document, the same as the health listener's ``/status``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from syncd.api.auth import ReadViewer
from syncd.api.context import Ctx
from syncd.api.problems import PROBLEMS

router = APIRouter(tags=["operations"], responses=PROBLEMS)


class LastError(BaseModel):
    at: str | None
    code: str | None
    message: str | None


class AccountStatusOut(BaseModel):
    """One account: the store's facts, plus ``daemon`` when this process syncs it."""

    model_config = ConfigDict(extra="allow")

    account: str
    provider: str | None = None
    owner: str | None = None
    state: str | None = None
    last_pass_started_at: str | None = None
    last_success_at: str | None = None
    last_error: LastError | None = None
    items_synced: int | None = None
    last_pass_items: int | None = None
    cursor_age_s: float | None = None
    lease_holder: str | None = None
    lease_expires_at: str | None = None
    daemon: dict[str, Any] | None = Field(
        default=None, description="What this process knows (state, passes, next run, "
                                  "backoff); only when the API runs inside `syncd run`")


class AccountsDocument(BaseModel):
    model_config = ConfigDict(extra="allow")

    generated_at: str
    accounts: list[AccountStatusOut]


@router.get("/accounts", response_model=AccountsDocument, response_model_exclude_unset=True,
            summary="Sync status of every account")
def get_accounts(viewer: ReadViewer, ctx: Ctx) -> dict[str, Any]:
    """Per account: state, last success, last error (class and message, never
    secrets), items synced, cursor age, lease holder; inside `syncd run` also what
    the daemon knows. The same document as `/status` and `syncd status --format json`."""
    del viewer  # authenticated; account health carries no interaction content
    return ctx.status()
