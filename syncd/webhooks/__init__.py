"""Signed webhooks: the change feed pushed to HTTP receivers, at least once, in order.

* :mod:`syncd.webhooks.delivery` — one batch, one signed POST (Standard
  Webhooks headers, :mod:`standardwebhooks`), its answer classified.
* :mod:`syncd.webhooks.worker` — one thread per subscription: read the
  feed after the stored position, filter, deliver, advance on 2xx, retry
  with the one backoff policy (:mod:`providers.retry`).
* :mod:`syncd.webhooks.runner` — the set of workers matching the config.

Layering: below the daemon (which owns leases, probes and metrics and
hands the workers a lease gate and a metrics callback), above the store
(positions in :mod:`syncd.store.webhook_subscriptions`, events in
:mod:`syncd.store.changes`). Nothing here imports the sync engine.
"""
