"""Config of the ``local`` provider: Maildir folders, mbox files, .ics files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from syncd.config.base import AccountBase


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
