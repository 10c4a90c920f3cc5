"""Structured logging: structlog everywhere, secrets masked before rendering.

``configure_logging(level, fmt)`` sets up structlog *and* the standard
library's ``logging`` (APScheduler, SQLAlchemy and HTTP clients log there),
so every line from this process goes through the same chain:

    contextvars (account, provider, pass id bound by callers)
    → level, logger name, UTC ISO-8601 timestamp
    → exception formatted to text
    → :func:`redact` (last step before rendering, so nothing escapes it)
    → JSON lines (``fmt="json"``, or ``"auto"`` when stderr is not a TTY)
      or the readable console renderer.

Invariant: :func:`redact` sees every event dict right before it is rendered.
It masks the *values* of keys that name a secret (password, token, secret,
authorization, cookie, api key, credential…) and, inside any string, bearer
and basic credentials, ``user:pass@`` in URLs, ``password=``-style
query or form parameters, IMAP ``LOGIN`` arguments, SASL (AUTHENTICATE /
AUTH) initial responses and XOAUTH2 blobs, and JSON Web Tokens. Logs go to
stderr (journald captures it).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import IO, Any

import structlog
from pydantic import SecretBytes, SecretStr

MASK = "**********"

#: a key whose value is a secret, whatever the case or surrounding words
_SECRET_KEY = re.compile(
    r"(pass(word|wd|phrase)|^pass$|pwd|secret|token|authorization|auth_header|cookie|"
    r"api[-_]?key|credential|private[-_]?key|signature|^assertion$)",
    re.IGNORECASE,
)
#: keys that contain a hint word but are not secrets
_NOT_SECRET_KEYS = frozenset({"token_count", "tokens_total", "password_file_present"})

_BEARER = re.compile(r"\b(Bearer)\s+[A-Za-z0-9._~+/=_-]{6,}|\b(Basic)\s+[A-Za-z0-9+/]{8,}={0,2}",
                     re.IGNORECASE)
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/\s:@]*):[^/\s@]*@")
_HINTS = r"(?:password|passwd|pwd|secret|token|api[-_]?key|signature|assertion)"
#: ``password=hunter2`` in query strings, form bodies and ``key=value`` messages
_PARAM = re.compile(r"(?P<key>\b[\w-]*" + _HINTS + r"\s*=\s*)(?P<value>[^&\s\"',;)]+)",
                    re.IGNORECASE)
#: ``"token": "abc"`` / ``'token': 'abc'`` in JSON or Python reprs
_QUOTED = re.compile(r"(?P<key>([\"'])[\w-]*" + _HINTS + r"\2\s*:\s*)"
                     r"(?P<value>\"[^\"]*\"|'[^']*'|[^,}\s]+)", re.IGNORECASE)
#: OAuth authorization codes and URL signatures in query strings
_QUERY_SECRET = re.compile(r"(?P<key>[?&](?:code|sig|key)=)(?P<value>[^&\s\"']+)")
#: IMAP ``LOGIN user password`` as protocol traces show it (imaplib/imapclient debug)
_IMAP_LOGIN = re.compile(r'(?P<key>\bLOGIN\s+(?:"(?:\\.|[^"\\])*"|[^\s":]+)\s+)'
                         r'(?P<value>"(?:\\.|[^"\\])*"|[^\s\'"]+)')
#: SASL initial responses: IMAP AUTHENTICATE / SMTP AUTH with base64 credentials
_SASL = re.compile(r"(?P<key>\b(?:AUTHENTICATE|AUTH)\s+(?:XOAUTH2|OAUTHBEARER|PLAIN|LOGIN)\s+)"
                   r"(?P<value>[A-Za-z0-9+/]{8,}={0,2})", re.IGNORECASE)
#: a bare XOAUTH2 blob (base64 of "user=…\x01auth=Bearer …") sent as a continuation line
_XOAUTH2_BLOB = re.compile(r"\bdXNlcj[0-9A-Za-z+/]{8,}={0,2}")
#: JSON Web Tokens (ID tokens, signed service-account assertions, JWT access tokens)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{8,}")
_HEADER_LINE = re.compile(r"(?P<key>\b(?:authorization|cookie|set-cookie|x-api-key)\s*:\s*)"
                          r"(?P<value>[^\r\n]+)", re.IGNORECASE)


def is_secret_key(key: object) -> bool:
    """True when a mapping key names a secret value (``password``, ``X-Auth-Token``…)."""
    if not isinstance(key, str) or key in _NOT_SECRET_KEYS:
        return False
    return _SECRET_KEY.search(key) is not None


def redact_text(text: str) -> str:
    """Mask credentials that appear inside free text (messages, URLs, tracebacks)."""
    text = _HEADER_LINE.sub(lambda m: m.group("key") + MASK, text)
    text = _BEARER.sub(lambda m: f"{m.group(1) or m.group(2)} {MASK}", text)
    text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:{MASK}@", text)
    text = _QUERY_SECRET.sub(lambda m: m.group("key") + MASK, text)
    text = _QUOTED.sub(lambda m: f"{m.group('key')}\"{MASK}\"", text)
    text = _IMAP_LOGIN.sub(lambda m: m.group("key") + MASK, text)
    text = _SASL.sub(lambda m: m.group("key") + MASK, text)
    text = _XOAUTH2_BLOB.sub(MASK, text)
    text = _JWT.sub(MASK, text)
    return _PARAM.sub(lambda m: m.group("key") + MASK, text)


def redact_value(value: Any, *, _depth: int = 0) -> Any:
    """Return ``value`` with secrets masked; containers are copied, never mutated."""
    if _depth > 20:
        return "…"
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    if isinstance(value, Mapping):
        return {k: (MASK if is_secret_key(k) and v not in (None, "") else
                    redact_value(v, _depth=_depth + 1)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v, _depth=_depth + 1) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    # anything else is rendered as text by the renderers; mask that text
    return redact_text(str(value))


def redact(_logger: Any, _method: str,
           event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask secrets in every value of the event dict."""
    for key in list(event_dict):
        value = event_dict[key]
        if is_secret_key(key) and value not in (None, ""):
            event_dict[key] = MASK
        else:
            event_dict[key] = redact_value(value)
    return event_dict


_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        structlog.processors.StackInfoRenderer(),
    ]


def configure_logging(level: str = "info", fmt: str = "auto", *,
                      stream: IO[str] | None = None) -> None:
    """Route structlog and stdlib logging through one redacting chain to ``stream``.

    ``fmt``: ``json``, ``console`` or ``auto`` (JSON unless ``stream`` is a
    terminal). Safe to call again (e.g. after a config reload): it replaces
    the previous setup.
    """
    out = stream if stream is not None else sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not _isatty(out))
    renderer: Any
    if use_json:
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=_isatty(out), exception_formatter=structlog.dev.plain_traceback)
    final = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,
        redact,
        renderer,
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=final,
    )
    handler = _Handler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_syncd", False):
            root.removeHandler(old)
    handler._syncd = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(_LEVELS.get(level, logging.INFO))
    # chatty libraries: their debug output is not ours to show at info level
    for name in ("alembic", "apscheduler", "sqlalchemy.engine", "urllib3", "googleapiclient",
                 "msal"):
        logging.getLogger(name).setLevel(max(logging.WARNING, _LEVELS.get(level, logging.INFO)))

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``stream``, or to whatever ``sys.stderr`` is at the time of each record.

    Resolving stderr late keeps logging working when it is swapped (test
    runners, daemonizing) instead of writing to a closed stream.
    """

    def __init__(self, stream: IO[str] | None) -> None:
        super().__init__(stream)
        self._fixed = stream

    @property
    def stream(self) -> IO[str]:
        return self._fixed if self._fixed is not None else sys.stderr

    @stream.setter
    def stream(self, value: IO[str] | None) -> None:
        self._fixed = value


def get_logger(name: str) -> Any:
    """A structlog logger named ``name`` (usually the module's ``__name__``)."""
    return structlog.stdlib.get_logger(name)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
