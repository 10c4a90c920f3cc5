"""Config of the ``local`` provider: Maildir folders, mbox files, .ics files.

Relative paths are resolved against the config file's directory (the loader
passes it as ``info.context["base_dir"]``); ``~`` is expanded. Paths need not
exist at load time: a missing path is reported by the provider at sync time
(it may be a mount that comes later).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from providers.settings import AccountBase

#: folder names (Maildir ``.Name``) and Gmail labels never synced unless listed in ``include``
DEFAULT_SKIP = ["Trash", "Junk", "Spam", "Drafts", "Draft", "Deleted Messages", "Deleted Items"]


class LocalAccount(AccountBase):
    provider: Literal["local"]
    #: Maildir directories (each with cur/ new/ tmp/); subfolders ".Name" are included
    maildirs: list[Path] = Field(default_factory=list)
    #: mbox files, e.g. a Google Takeout export
    mboxes: list[Path] = Field(default_factory=list)
    #: .ics files or folders of .ics files
    calendars: list[Path] = Field(default_factory=list)
    #: records per page (one transaction each)
    page_size: Annotated[int, Field(ge=1, le=10_000)] = 500
    #: calendar window: days before and after now that recurring series are expanded over
    past_days: Annotated[int, Field(ge=0, le=3650)] = 90
    future_days: Annotated[int, Field(ge=0, le=3650)] = 180
    #: Maildir subfolders and mbox (Gmail) labels to leave out; matched case-insensitively
    skip_folders: list[str] = Field(default_factory=lambda: list(DEFAULT_SKIP))
    #: Gmail label (mbox ``X-Gmail-Labels``, e.g. a Takeout export) that marks a
    #: message private: not logged (see syncd.sync.privacy)
    private_label: str | None = None

    @field_validator("maildirs", "mboxes", "calendars", mode="after")
    @classmethod
    def _resolve(cls, paths: list[Path], info: ValidationInfo) -> list[Path]:
        context = info.context if isinstance(info.context, dict) else {}
        base = context.get("base_dir")
        out: list[Path] = []
        for path in paths:
            path = path.expanduser()
            if not path.is_absolute() and base is not None:
                path = Path(base) / path
            out.append(path)
        return out
