"""Who may read what: the one rule for interaction content in every API response.

Content is an interaction's ``subject`` (a meeting's title), ``snippet``,
``body`` and ``location``, and text copied from them (a thread's subject,
the subject of a reminder derived from a thread or meeting). Everything
else (who, when, direction, matches, sources, counts) is metadata, shown to
every reader.

The level a viewer gets for one interaction (:meth:`Visibility.level`):

=====================================================  ==========================
viewer                                                 level
=====================================================  ==========================
``admin``                                              ``full`` (what the store has)
a rep, the item is flagged private                     ``full`` if theirs, else
                                                       ``metadata`` (owner only)
a rep owning an account with a source of it            ``full``
any other rep                                          ``api.sharing.colleagues``:
                                                       ``metadata`` | ``subject`` |
                                                       ``full``
=====================================================  ==========================

``metadata`` hides all content; ``subject`` shows the subject (title) and
location only; ``full`` shows everything stored. Stored content is already
cut to the account's privacy level (``privacy.level``), so ``full`` never
shows more than sync kept, and items a rep marked private are never stored
for them at all (so no stored item carries a private flag today; the
``private_owner`` argument is the rule for any item that will).

Every response that carries content applies :meth:`Visibility.content` (or
``level``) and states the level it applied in a ``visibility`` field, so a
client can tell "hidden" from "empty". Counts may include items whose
content the viewer cannot read; their content never leaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from syncd.api.auth import Viewer
from syncd.config.api import SharingLevel

Level = Literal["metadata", "subject", "full"]


@dataclass(frozen=True, slots=True)
class Content:
    """An interaction's content as one viewer may see it (``None``: hidden or empty)."""

    level: Level
    subject: str | None = None
    snippet: str | None = None
    body: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class Visibility:
    """The rule above, for one viewer under one sharing policy."""

    viewer: Viewer
    colleagues: SharingLevel

    def level(self, owners: frozenset[str], *, private_owner: str | None = None) -> Level:
        """What this viewer may read of an item seen by the mailboxes of ``owners``."""
        if self.viewer.is_admin:
            return "full"
        if private_owner is not None:
            return "full" if self.viewer.address == private_owner else "metadata"
        if self.viewer.address in owners:
            return "full"
        return self.colleagues

    def content(self, owners: frozenset[str], *, subject: str | None,
                snippet: str | None = None, body: str | None = None,
                location: str | None = None, private_owner: str | None = None) -> Content:
        """The fields this viewer may read, the others ``None``."""
        level = self.level(owners, private_owner=private_owner)
        return cut(level, subject=subject, snippet=snippet, body=body, location=location)


def cut(level: Level, *, subject: str | None, snippet: str | None = None,
        body: str | None = None, location: str | None = None) -> Content:
    """Content reduced to ``level``."""
    if level == "metadata":
        return Content(level)
    if level == "subject":
        return Content(level, subject=subject, location=location)
    return Content(level, subject=subject, snippet=snippet, body=body, location=location)
