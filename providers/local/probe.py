"""``syncd doctor`` checks of a local account: do its paths exist and can they be read?"""

from __future__ import annotations

import os

from providers.base import ProviderContext
from providers.local.settings import LocalAccount
from providers.netprobe import Check, failed, ok, warning


def probe(account: LocalAccount, context: ProviderContext) -> list[Check]:
    """One check per configured path kind; a path that may be a later mount still fails."""
    del context  # nothing here depends on the time
    key = f"accounts[{account.id}]"
    checks: list[Check] = []
    for kind, paths, is_dir in (("maildirs", account.maildirs, True),
                                ("mboxes", account.mboxes, False),
                                ("calendars", account.calendars, None)):
        if not paths:
            continue
        missing = [str(p) for p in paths if not p.exists()]
        wrong = [str(p) for p in paths if p.exists() and is_dir is not None
                 and p.is_dir() != is_dir]
        unreadable = [str(p) for p in paths if p.exists() and not os.access(p, os.R_OK)]
        if missing:
            checks.append(failed(kind, f"missing: {', '.join(missing)}",
                                 f"fix {key}.{kind} (relative paths start at the config "
                                 "file's directory)"))
        elif wrong:
            checks.append(failed(kind, f"not a {'directory' if is_dir else 'file'}: "
                                       f"{', '.join(wrong)}", f"fix {key}.{kind}"))
        elif unreadable:
            checks.append(failed(kind, f"not readable: {', '.join(unreadable)}",
                                 "let the user running syncd read them"))
        else:
            checks.append(ok(kind, f"{len(paths)} path(s) readable"))
    if not checks:
        checks.append(warning("paths", "no maildirs, mboxes or calendars configured",
                              f"add at least one path to {key}"))
    return checks
