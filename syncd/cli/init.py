"""``syncd init``: a commented starter config from a few answers, for a first run.

Asks (or takes as flags) the organization, its internal domains and one
account, writes a config that passes ``syncd check-config``, and proves it
by loading what it wrote before it says so. Secrets are never asked for:
passwords and client secrets are read from environment variables named in
the file, and the key that encrypts stored OAuth tokens is generated here.
The file is created with mode 0600 and never overwrites one without
``--force``.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import click

from syncd.cli.app import app_of, cli
from syncd.config.loader import load_settings

PROVIDERS = ("local", "imap", "caldav", "gmail", "google_calendar", "outlook_mail",
             "outlook_calendar")
_EMAIL = re.compile(r"^[^@\s]+@([^@\s]+\.[^@\s]+)$")
#: checks an answer (value, flag) and returns it cleaned, or raises click.BadParameter
_Check = Callable[[str, str], str]
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True, slots=True)
class Answers:
    """What the starter config is made of."""

    organization: str
    internal_domains: tuple[str, ...]
    provider: str
    owner: str
    account_id: str
    #: provider-specific: host (imap), url (caldav), paths (local), ids (google/microsoft)
    host: str | None = None
    username: str | None = None
    url: str | None = None
    paths: tuple[str, ...] = ()
    service_account_file: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None


@cli.command("init")
@click.option("--organization", help="Your organization's name (shown in digests and logs).")
@click.option("--internal-domain", "internal_domains", multiple=True, metavar="DOMAIN",
              help="A domain of your own mail (repeat for several); mail among these "
                   "addresses only is internal and never logged. Default: the owner's domain.")
@click.option("--provider", type=click.Choice(PROVIDERS),
              help="The first account's kind: local files, IMAP, CalDAV, Gmail, Google "
                   "Calendar, Outlook mail or calendar (Microsoft Graph).")
@click.option("--owner", metavar="EMAIL", help="The rep who owns that mailbox or calendar.")
@click.option("--host", help="imap: the server's host name.")
@click.option("--username", help="imap, caldav: the login name (default: the owner).")
@click.option("--url", help="caldav: the server, principal or calendar URL.")
@click.option("--path", "paths", multiple=True, type=click.Path(path_type=Path),
              help="local: a Maildir folder, an mbox file or an .ics file or folder "
                   "(repeat for several).")
@click.option("--service-account-file", type=click.Path(path_type=Path),
              help="gmail, google_calendar: the service account's JSON key.")
@click.option("--tenant-id", help="outlook_*: the Microsoft Entra tenant id.")
@click.option("--client-id", help="outlook_*: the app registration's client id.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write it (default: the --config path, syncd.yaml).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--no-input", is_flag=True,
              help="Never prompt: every missing answer is an error naming its flag.")
@click.pass_context
def init(ctx: click.Context, organization: str | None, internal_domains: tuple[str, ...],
         provider: str | None, owner: str | None, host: str | None, username: str | None,
         url: str | None, paths: tuple[Path, ...], service_account_file: Path | None,
         tenant_id: str | None, client_id: str | None, output: Path | None, force: bool,
         no_input: bool) -> None:
    """Write a commented starter config that passes check-config.

    Answers come from the flags; what is missing is asked for (or, with
    --no-input or without a terminal, named as an error). Secrets are not
    asked: the file names the environment variable each one is read from.

    \b
    Example:
      syncd init --organization "OurCo" --provider imap --owner rita@ourco.example \\
                 --host imap.ourco.example
    """
    target = output or app_of(ctx).config_path
    if target.exists() and not force:
        raise click.UsageError(f"{target} exists; pass --force to overwrite it, or "
                               "--output PATH to write elsewhere")
    ask = _Asker(interactive=not no_input and sys.stdin.isatty())
    owner = ask.value(owner, "--owner", "The rep's email address", check=_email)
    owner_domain = owner.rsplit("@", 1)[1]
    organization = ask.value(organization, "--organization", "Organization name",
                             default=owner_domain.split(".")[0].capitalize())
    domains = tuple(_domain(d) for d in internal_domains) or (owner_domain,)
    provider = ask.value(provider, "--provider", "Account kind (" + ", ".join(PROVIDERS) + ")",
                         check=_provider)
    answers = Answers(organization=organization, internal_domains=domains, provider=provider,
                      owner=owner, account_id=_account_id(owner, provider))
    if provider == "imap":
        answers = replace(answers, host=ask.value(host, "--host", "IMAP server host"),
                        username=username or owner)
    elif provider == "caldav":
        answers = replace(answers, url=ask.value(url, "--url", "CalDAV URL", check=_url),
                        username=username or owner)
    elif provider == "local":
        given = paths or (Path(ask.value(None, "--path", "A Maildir, mbox or .ics path")),)
        answers = replace(answers, paths=tuple(str(p) for p in given))
    elif provider in ("gmail", "google_calendar"):
        answers = replace(answers, service_account_file=str(ask.value(
            None if service_account_file is None else str(service_account_file),
            "--service-account-file", "Service account JSON key file")))
    else:
        answers = replace(answers, tenant_id=ask.value(tenant_id, "--tenant-id", "Tenant id"),
                        client_id=ask.value(client_id, "--client-id", "Client id"))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds a key
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(render(answers, token_key=secrets.token_urlsafe(32)))
    load_settings(target, env={})  # what we wrote must pass check-config, secrets unset
    click.echo(f"wrote {target} (mode 0600): one {provider} account, {answers.account_id}")
    for step in _next_steps(answers, target):
        click.echo(f"  next: {step}")


class _Asker:
    """Takes a flag's value, else prompts for it, else names the flag."""

    def __init__(self, *, interactive: bool) -> None:
        self.interactive = interactive

    def value(self, given: str | None, flag: str, question: str, *,
              default: str | None = None, check: _Check | None = None) -> str:
        if given is not None:
            return check(given, flag) if check else given
        if not self.interactive:
            if default is not None:
                return default
            raise click.UsageError(f"{flag} is required (no terminal to ask on)")
        while True:
            answer = str(click.prompt(question, default=default)).strip()
            try:
                return check(answer, flag) if check else answer
            except click.BadParameter as exc:
                click.echo(f"  {exc.message}", err=True)


def _email(value: str, flag: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise click.BadParameter(f"{value!r} is not an email address", param_hint=flag)
    return value


def _domain(value: str) -> str:
    domain = value.strip().lower().lstrip("@")
    if not _DOMAIN.match(domain):
        raise click.BadParameter(f"{value!r} is not a domain name",
                                 param_hint="--internal-domain")
    return domain


def _provider(value: str, flag: str) -> str:
    if value not in PROVIDERS:
        raise click.BadParameter(f"{value!r} is not one of " + ", ".join(PROVIDERS),
                                 param_hint=flag)
    return value


def _url(value: str, flag: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise click.BadParameter(f"{value!r} is not an http(s) URL", param_hint=flag)
    return value


def _account_id(owner: str, provider: str) -> str:
    local = re.sub(r"[^a-z0-9_.-]", "-", owner.split("@", 1)[0])
    return f"{local}-{provider.replace('_', '-')}"


def _env_name(account_id: str, what: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", f"{account_id}_{what}".upper())


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(a: Answers, *, token_key: str) -> str:
    """The config text: every section commented, one account."""
    domains = ", ".join(a.internal_domains)
    return f"""\
# syncd configuration, written by `syncd init`. Every key is documented in
# config/example.yaml; `syncd check-config` validates this file.

# Where SQLite, the token vault and other state live.
state_dir: ./state
# The interaction store: SQLite under state_dir by default. For production:
# store: {{url: "postgresql+psycopg://syncd@db.example/syncd"}}

# /healthz, /readyz, /status and /metrics, on this host only.
health:
  host: 127.0.0.1
  port: 8089

logging:
  level: info
  format: auto          # json when not on a terminal (systemd), text otherwise

organization:
  name: {_quoted(a.organization)}
  # Mail among these domains only is internal and never logged.
  internal_domains: [{domains}]

privacy:
  # What is stored of each message: metadata | subject | full
  level: subject
  # Encrypts stored OAuth tokens. Generated for this file: keep it secret,
  # and keep it stable (a new key makes stored tokens unreadable).
  token_key: {_quoted(token_key)}

# Reminders from unanswered threads and meetings, with the default rules
# (config/example.yaml shows segments, business hours and owners).
reminders:
  enabled: true

accounts:
{_account(a)}"""


def _account(a: Answers) -> str:
    head = f"""\
  - id: {a.account_id}
    provider: {a.provider}
    owner: {a.owner}
    interval: 300          # seconds between polls
    backfill_days: 90      # how far back the first sync reaches
"""
    if a.provider == "local":
        maildirs = [p for p in a.paths if (Path(p) / "cur").is_dir()]
        calendars = [p for p in a.paths if p.endswith(".ics")
                     or (Path(p).is_dir() and p not in maildirs)]
        mboxes = [p for p in a.paths if p not in maildirs and p not in calendars]
        return head + (
            f"    maildirs: [{', '.join(_quoted(p) for p in maildirs)}]\n"
            f"    mboxes: [{', '.join(_quoted(p) for p in mboxes)}]\n"
            f"    calendars: [{', '.join(_quoted(p) for p in calendars)}]\n")
    if a.provider == "imap":
        password = _env_name(a.account_id, "password")
        return head + f"""\
    host: {a.host}
    security: tls          # tls (993) | starttls (143)
    username: {_quoted(a.username or a.owner)}
    # Read from the environment (or: password_file: /run/secrets/{a.account_id}).
    password: ${{{password}:-}}
"""
    if a.provider == "caldav":
        password = _env_name(a.account_id, "password")
        return head + f"""\
    # A server or principal URL syncs every calendar; a calendar's URL just that one.
    url: {_quoted(a.url or "")}
    username: {_quoted(a.username or a.owner)}
    password: ${{{password}:-}}
"""
    if a.provider in ("gmail", "google_calendar"):
        return head + f"""\
    auth:
      method: service_account   # domain-wide delegation, impersonating the owner
      service_account_file: {_quoted(a.service_account_file or "")}
"""
    secret = _env_name(a.account_id, "client_secret")
    return head + f"""\
    auth:
      method: app                 # client credentials (application permissions)
      tenant_id: {_quoted(a.tenant_id or "")}
      client_id: {_quoted(a.client_id or "")}
      client_secret: ${{{secret}:-}}
"""


def _next_steps(a: Answers, target: Path) -> list[str]:
    config = "" if target.name == "syncd.yaml" and target.parent == Path() else \
        f" --config {target}"
    steps: list[str] = []
    if a.provider in ("imap", "caldav"):
        steps.append(f"export {_env_name(a.account_id, 'password')}=...   "
                     "(the account's password)")
    elif a.provider.startswith("outlook"):
        steps.append(f"export {_env_name(a.account_id, 'client_secret')}=...   "
                     "(the app registration's secret)")
    steps += [f"syncd{config} check-config",
              f"syncd{config} import companies companies.csv   (and contacts)",
              f"syncd{config} sync --once   (then: syncd{config} run)"]
    return steps
