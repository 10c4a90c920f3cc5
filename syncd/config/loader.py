"""Reading the YAML file: ``${ENV}`` substitution, ``*_file`` secrets, validation.

Relative paths in the file are relative to the file's own directory: models
find it as ``info.context["base_dir"]`` in their validators.

Order of work: parse YAML → substitute ``${VAR}`` / ``${VAR:-default}`` in
every string → replace each ``<key>_file: PATH`` by ``<key>: <file contents,
stripped>`` → validate with :class:`syncd.config.model.Settings`. Every
failure becomes one :class:`ConfigError` listing every problem with its key
path (``accounts[1].password``), what was found and what is allowed.
Secret values never appear in these messages.
"""

from __future__ import annotations

import difflib
import os
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from syncd.config.model import Settings
from syncd.errors import ConfigError, ConfigIssue

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECRET_HINTS = ("password", "secret", "token", "key")


def _path(parts: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out or "(top level)"


def _substitute(node: Any, where: list[Any], env: Mapping[str, str],
                issues: list[ConfigIssue]) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, [*where, k], env, issues) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, [*where, i], env, issues) for i, v in enumerate(node)]
    if isinstance(node, str):
        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            issues.append(ConfigIssue(_path(where), f"environment variable {name} is not set",
                                      f"export {name} or write ${{{name}:-default}}"))
            return ""
        return _ENV.sub(repl, node)
    return node


def _read_secret_files(node: Any, where: list[Any], base: Path, issues: list[ConfigIssue]) -> Any:
    if isinstance(node, list):
        return [_read_secret_files(v, [*where, i], base, issues) for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(key, str) and key.endswith("_file") and any(
            h in key for h in _SECRET_HINTS
        ) and key != "service_account_file":
            target = key[: -len("_file")]
            if target in node:
                issues.append(ConfigIssue(_path([*where, key]),
                                          f"both {target} and {key} are set",
                                          "give only one of them"))
                continue
            path = Path(str(value)).expanduser()
            if not path.is_absolute():
                path = base / path
            try:
                out[target] = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                issues.append(ConfigIssue(_path([*where, key]),
                                          f"cannot read secret file {path}: {exc.strerror}",
                                          "point it at a readable file"))
            continue
        out[key] = _read_secret_files(value, [*where, key], base, issues)
    return out


def _issue_from_pydantic(err: Mapping[str, Any]) -> ConfigIssue:
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p in _UNION_TAGS)]
    path = _path(loc)
    kind = err["type"]
    leaf = str(loc[-1]) if loc else ""
    secret = any(h in leaf for h in _SECRET_HINTS)
    value = "(hidden)" if secret else repr(err.get("input"))
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(leaf, _keys_at(err["loc"][:-1]), n=1, cutoff=0.7)
        if close:
            return ConfigIssue(path, "unknown key", f"did you mean {close[0]!r}?")
        return ConfigIssue(path, "unknown key", "remove it or check its spelling in "
                           "config/example.yaml")
    if kind == "missing":
        return ConfigIssue(path, "required key is missing", "add it")
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        allowed = ctx.get("expected_tags", "")
        return ConfigIssue(path + ".provider", f"unknown provider {ctx.get('tag')!r}",
                           f"use one of {allowed}")
    if kind == "union_tag_not_found":
        return ConfigIssue(path + ".provider", "required key is missing",
                           "add provider: local | imap | caldav | gmail | google_calendar | "
                           "outlook_mail | outlook_calendar")
    if kind == "literal_error":
        allowed = err.get("ctx", {}).get("expected", "")
        return ConfigIssue(path, f"{value} is not allowed", f"use one of {allowed}")
    msg = str(err.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ")
    return ConfigIssue(path, f"{msg} (got {value})")


def _keys_at(loc: tuple[Any, ...] | list[Any]) -> list[str]:
    """The keys allowed at ``loc`` (pydantic's error location), for spelling hints.

    Follows field annotations from :class:`Settings`; a discriminated union's
    tag in ``loc`` (``accounts.0.imap.…``) picks the provider's model.
    """
    models: list[type[BaseModel]] = [Settings]
    for part in loc:
        if isinstance(part, int):
            continue  # a list index: same element models
        tagged = [m for m in models if _provider_tag(m) == part]
        if tagged:
            models = tagged
            continue
        found: list[type[BaseModel]] = []
        for model in models:
            field = model.model_fields.get(str(part))
            if field is not None:
                found.extend(_models_in(field.annotation))
        models = found
    return sorted({name for model in models for name in model.model_fields})


def _provider_tag(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("provider")
    args = typing.get_args(field.annotation) if field is not None else ()
    return str(args[0]) if len(args) == 1 else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


_UNION_TAGS = {"local", "imap", "caldav", "gmail", "google_calendar", "outlook_mail",
               "outlook_calendar"}


def parse_settings(data: Any, *, source: str = "", base: Path | None = None,
                   env: Mapping[str, str] | None = None) -> Settings:
    """Validate already-parsed YAML data (see module docstring)."""
    env = os.environ if env is None else env
    issues: list[ConfigIssue] = []
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue("(top level)", "the file must be a mapping of keys",
                                       "start from config/example.yaml")], source=source)
    data = _substitute(data, [], env, issues)
    data = _read_secret_files(data, [], base or Path.cwd(), issues)
    if issues:
        raise ConfigError(issues, source=source)
    try:
        settings = Settings.model_validate(data, context={"base_dir": base or Path.cwd()})
    except ValidationError as exc:
        raise ConfigError([_issue_from_pydantic(e) for e in exc.errors()], source=source) from None
    if base is not None and not settings.state_dir.is_absolute():
        settings = settings.model_copy(update={"state_dir": (base / settings.state_dir)})
    return settings


def load_settings(path: str | Path, *, env: Mapping[str, str] | None = None) -> Settings:
    """Load and validate a config file; raises :class:`ConfigError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(path), f"cannot read file: {exc.strerror}",
                                       "pass --config PATH to an existing file")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(unknown position)"
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError([ConfigIssue(where, f"YAML syntax error: {problem}",
                                       "fix the indentation or quoting there")],
                          source=str(path)) from None
    if data is None:  # nothing but comments or blank lines: surely not what was meant
        raise ConfigError([ConfigIssue("(top level)", "the file is empty",
                                       "start from config/example.yaml (copy it and add "
                                       "your accounts)")], source=str(path))
    return parse_settings(data, source=str(path), base=path.parent.resolve(), env=env)
