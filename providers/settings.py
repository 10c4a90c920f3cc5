"""Building blocks shared by every config model, including providers' own.

Every model forbids unknown keys, so a typo is an error that names its key
path instead of a setting silently ignored. Secrets are ``SecretStr`` and
print as ``**********``; a secret may also be given as ``<key>_file`` (see
:mod:`syncd.config.loader`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

PrivacyLevel = Literal["metadata", "subject", "snippet", "full"]
PRIVACY_ORDER: dict[str, int] = {"metadata": 0, "subject": 1, "snippet": 2, "full": 3}

Seconds = Annotated[float, Field(gt=0, le=86_400)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class AccountBase(StrictModel):
    """Keys every account has, whatever its provider.

    Provider packages subclass this in their ``settings.py`` and add a
    ``provider: Literal["<kind>"]`` field plus their own keys.
    """

    #: the provider kind; each subclass narrows it to its own ``Literal``
    provider: str
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")]
    #: the rep who owns this mailbox/calendar (their address)
    owner: str
    enabled: bool = True
    #: seconds between polls
    interval: Seconds = 300
    #: random delay added to each poll, up to this many seconds
    jitter: Annotated[float, Field(ge=0, le=3600)] = 10
    #: how far back the first sync reaches
    backfill_days: Annotated[int, Field(ge=0, le=36_500)] = 90
    #: overrides ``privacy.level`` for this account
    privacy: PrivacyLevel | None = None
    #: per-rep blocklist: addresses, domains (subdomains included)
    blocklist: list[str] = Field(default_factory=list)
