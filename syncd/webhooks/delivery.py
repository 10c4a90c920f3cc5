"""One batch of feed events, signed and POSTed to a subscription's receiver.

The request (Standard Webhooks, https://www.standardwebhooks.com)::

    POST <url>
    content-type: application/json
    webhook-id: <subscription>:<first position>-<last position>
    webhook-timestamp: <unix seconds of this attempt>
    webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">

    {"subscription": "<name>", "events": [
        {"position": 17, "type": "interaction.created", "entity": "interaction",
         "entity_id": 5, "state": {...}, "at": "2026-12-07T16:00:00Z"}, ...]}

Invariants:

* A batch's id and body are fixed when the batch is made: every retry of
  it sends the same ``webhook-id`` and the same bytes (only the timestamp
  and so the signature change), so a receiver may de-duplicate by the id
  or by each event's ``position``.
* Events are in feed order; the id's range covers the feed positions the
  batch accounts for, filtered-out ones included.
* The answer is classified here and nowhere else: 2xx delivered; 410
  :class:`ReceiverGone`; anything else (other statuses, timeouts, refused
  or dropped connections) :class:`DeliveryFailed`, a transient error with
  the receiver's ``Retry-After`` if it sent one.
* Error messages name the subscription and what happened, never the URL
  (it may carry a token) nor the secret.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType

import httpx
from standardwebhooks import Webhook

from providers.retry import parse_retry_after
from syncd.config.webhooks import WebhookSettings
from syncd.errors import SyncdError, TransientError
from syncd.store.changes import FeedEvent

USER_AGENT = "syncd-webhooks/1"


class DeliveryFailed(TransientError):
    """The receiver did not acknowledge a batch (non-2xx, timeout, connection failure)."""

    code = "webhook_delivery"

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status = status


class ReceiverGone(SyncdError):
    """The receiver answered 410 Gone: it wants no more deliveries."""

    code = "webhook_gone"


@dataclass(frozen=True, slots=True)
class Batch:
    """Events after feed position ``after`` through ``through``, as one request."""

    subscription: str
    after: int
    through: int
    events: tuple[FeedEvent, ...]
    body: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        doc = {"subscription": self.subscription,
               "events": [event.as_json() for event in self.events]}
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        object.__setattr__(self, "body", body)

    @property
    def id(self) -> str:
        """The ``webhook-id``: the same for every attempt of this batch."""
        return f"{self.subscription}:{self.after + 1}-{self.through}"


class Deliverer:
    """The HTTP client and signer of one subscription (one per worker thread)."""

    def __init__(self, settings: WebhookSettings, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self._signer = Webhook(settings.secret.get_secret_value())
        timeout = httpx.Timeout(settings.timeout_s)
        self._client = httpx.Client(timeout=timeout, follow_redirects=False,
                                    transport=transport, headers={"user-agent": USER_AGENT})

    def __enter__(self) -> Deliverer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def headers(self, batch: Batch, now: datetime) -> dict[str, str]:
        """The Standard Webhooks headers of one attempt at ``now``."""
        return {
            "content-type": "application/json",
            "webhook-id": batch.id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self._signer.sign(batch.id, now, batch.body),
        }

    def post(self, batch: Batch) -> int:
        """Send ``batch`` once: its 2xx status; else raise DeliveryFailed or ReceiverGone."""
        name = self.settings.name
        now = datetime.now(UTC)
        try:
            response = self._client.post(self.settings.url, content=batch.body,
                                         headers=self.headers(batch, now))
        except httpx.TimeoutException:
            raise DeliveryFailed(f"webhook {name}: no answer within "
                                 f"{self.settings.timeout_s:g}s") from None
        except httpx.TransportError as exc:
            raise DeliveryFailed(f"webhook {name}: connection failed "
                                 f"({type(exc).__name__})") from None
        status = response.status_code
        if 200 <= status < 300:
            return status
        if status == 410:
            raise ReceiverGone(f"webhook {name}: the receiver answered 410 Gone; delivery is "
                               "disabled until resumed (`syncd webhooks resume "
                               f"{name}`)")
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=time.time())
        raise DeliveryFailed(f"webhook {name}: the receiver answered {status}",
                             status=status, retry_after=retry_after)
