"""The ``syncd`` command line, the top layer: nothing imports it.

One module per command group, each registering its commands on the group
in :mod:`syncd.cli.app` (which also owns the per-invocation :class:`App`,
exit statuses and output helpers):

==========================  ====================================================
:mod:`syncd.cli.setup`      ``check-config``, ``migrate``
:mod:`syncd.cli.init`       ``init`` (a commented starter config)
:mod:`syncd.cli.demo`       ``demo refresh`` (the bundled demo, dated around today)
:mod:`syncd.cli.imports`    ``import companies|contacts|opportunities``
:mod:`syncd.cli.sync`       ``sync --once``, ``run`` (the daemon)
:mod:`syncd.cli.history`    ``timeline``, ``status``
:mod:`syncd.cli.directory`  ``contacts show``, ``companies show`` (relationship rollups)
:mod:`syncd.cli.reminders`  ``reminders`` (list, done, dismiss, sweep, digest)
:mod:`syncd.cli.leads`      ``leads`` (list), ``leads qualify|disqualify``
:mod:`syncd.cli.auth`       ``auth google|microsoft``
:mod:`syncd.cli.purge`      ``purge`` (people, domains; ``--account`` alone: offboarding)
:mod:`syncd.cli.retention`  ``retention`` (prune history older than the configured days)
:mod:`syncd.cli.resync`     ``resync`` (forget cursors, widen the backfill window)
:mod:`syncd.cli.api`        ``api`` (serve the HTTP API), ``api token create``, ``api openapi``
:mod:`syncd.cli.changes`    ``changes`` (the change feed; ``--follow``, JSON lines)
:mod:`syncd.cli.export`     ``export`` (a consistent snapshot to start the feed from)
:mod:`syncd.cli.webhooks`   ``webhooks`` (subscription state), ``webhooks resume``
:mod:`syncd.cli.doctor`     ``doctor`` (config, store, accounts, health port: checks and fixes)
:mod:`syncd.cli.explain`    ``explain`` (why an email, meeting or address is or is not logged)
:mod:`syncd.cli.verify`     ``verify`` (coverage check now: missing and vanished items, repair)
==========================  ====================================================

Commands import the store, the engine and the daemon inside their bodies:
``syncd --help`` and a bad config answer without loading SQLAlchemy or any
provider library.
"""

from __future__ import annotations

from syncd.cli import (
    api,
    auth,
    changes,
    demo,
    directory,
    doctor,
    explain,
    export,
    history,
    imports,
    init,
    leads,
    purge,
    reminders,
    resync,
    retention,
    setup,
    sync,
    verify,
    webhooks,
)
from syncd.cli.app import cli

__all__ = ["cli", "main"]

_COMMAND_MODULES = (api, auth, changes, demo, directory, doctor, explain, export, history,
                    imports, init, leads, purge, reminders, resync, retention, setup, sync,
                    verify, webhooks)


def main() -> None:
    """Console-script entry point (``syncd``)."""
    cli(prog_name="syncd")
