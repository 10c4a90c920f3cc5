"""Webhook subscriptions (the ``webhooks`` key): the change feed pushed to receivers.

Shape (a list; every key but ``name``, ``url`` and the secret has a default)::

    webhooks:
      - name: crm                       # unique; names the subscription in the
                                        # store, logs, /status and metrics
        url: https://crm.example/hooks/syncd
        events: ["interaction.*", "reminder.opened"]   # default ["*"]: all
        secret_file: /etc/syncd/crm-webhook.secret     # or secret: whsec_...
        enabled: true
        batch_size: 100                 # events per request (1-1000)
        timeout_s: 10                   # per request (0.1-300)
        max_lag_s: 600                  # /readyz turns red above this
        backoff_base: 1                 # first retry within this many seconds,
        backoff_max: 300                # doubling up to this (full jitter)
        max_retry_after: 3600           # longest Retry-After honoured
        poll_interval_s: 1              # how often an idle worker looks for events

``events`` entries are exact types (``interaction.created``) or prefixes
ending in ``.*`` (``interaction.*``); ``*`` alone matches everything.

Invariant: the secret is a :class:`pydantic.SecretStr` from the moment it is
read (the loader turns ``secret_file`` into ``secret``), so it never appears
in a repr, a config error, a log line or ``/status``; only the signer in
:mod:`syncd.webhooks.signing` reads its value.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from providers.settings import StrictModel

#: the Standard Webhooks secret prefix
SECRET_PREFIX = "whsec_"
#: shortest key accepted (the spec recommends 24 to 64 bytes)
MIN_SECRET_BYTES = 24
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_EVENT = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a ``whsec_<base64>`` secret; ValueError (without the value) if bad."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"must start with {SECRET_PREFIX!r} followed by base64")
    try:
        body = secret[len(SECRET_PREFIX):]
        key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)  # padding optional
    except (binascii.Error, ValueError):
        raise ValueError(f"is not {SECRET_PREFIX}<base64>; generate one with: python3 -c "
                         "\"import base64,os;print('whsec_'+base64.b64encode(os.urandom(32))"
                         ".decode())\"") from None
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"is too short ({len(key)} bytes); use at least {MIN_SECRET_BYTES} "
                         "random bytes")
    return key


class WebhookSettings(StrictModel):
    #: unique; lowercase letters, digits, '.', '_', '-'
    name: str
    #: where batches are POSTed (http:// or https://)
    url: str
    #: event types delivered: exact types or prefixes like ``interaction.*``; ``*`` is all
    events: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    #: Standard Webhooks secret ``whsec_<base64>``; give ``secret`` or ``secret_file``
    secret: SecretStr
    enabled: bool = True
    #: events per request
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 100
    #: seconds for connecting and for the whole answer of one request
    timeout_s: Annotated[float, Field(ge=0.1, le=300)] = 10
    #: /readyz names the subscription when its oldest undelivered event is older
    max_lag_s: Annotated[float, Field(ge=1, le=30 * 86_400)] = 600
    #: failed deliveries: first retry within backoff_base seconds, doubling up to backoff_max
    backoff_base: Annotated[float, Field(gt=0, le=3600)] = 1
    backoff_max: Annotated[float, Field(gt=0, le=86_400)] = 300
    #: the longest Retry-After honoured; a longer one waits this long
    max_retry_after: Annotated[float, Field(ge=0, le=86_400)] = 3600
    #: seconds an idle worker waits before looking for new events
    poll_interval_s: Annotated[float, Field(ge=0.05, le=60)] = 1

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use 1-64 lowercase letters, digits, '.', '_' or '-', starting "
                             "with a letter or digit")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _EVENT.match(value):
                raise ValueError(f"event {value!r} is not a type (interaction.created), a "
                                 "prefix (interaction.*) or *")
        return values

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        secret_bytes(value.get_secret_value())
        return value

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the url: all that status, logs and the CLI show
        (a path or query may carry a token; credentials never leave the config)."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname or ''}" + (
            f":{parts.port}" if parts.port else "")

    def matches(self, event_type: str) -> bool:
        """Whether this subscription delivers events of ``event_type``."""
        for pattern in self.events:
            if pattern == "*" or pattern == event_type:
                return True
            if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
                return True
        return False


def unique_names(webhooks: list[WebhookSettings]) -> list[WebhookSettings]:
    """``webhooks[].name`` must be unique (they key the stored positions)."""
    seen: set[str] = set()
    for hook in webhooks:
        if hook.name in seen:
            raise ValueError(f"webhook name {hook.name!r} is used twice; names must be unique")
        seen.add(hook.name)
    return webhooks
