"""Canonical forms of addresses and domains: the keys identity is decided on.

Invariants (property-tested):

* ``canonical_address`` and ``canonical_domain`` never raise, whatever the input,
  and return ``None`` for anything that is not an address / a host name.
* Both are idempotent: ``f(f(x)) == f(x)`` for every non-None result.
* Output is lower case; domains are IDNA A-labels (pure ASCII).

Rules, in order:

1. Trim; ``Name <addr>`` and ``<addr>`` keep the part inside the brackets;
   a leading ``mailto:`` is dropped together with any ``?query`` and
   percent-escapes are decoded. Display names never decide identity.
2. Split at the last ``@``. Quoted local parts (``"a b"@x``) and domain
   literals (``a@[10.0.0.1]``) are rejected: they do not occur in CRM data and
   accepting them would make equality fuzzy.
3. The domain is mapped with UTS #46 (non-transitional, as browsers do) and
   stored as punycode A-labels (``bücher.de`` -> ``xn--bcher-kva.de``). ASCII
   is chosen over Unicode because it is what DNS, mail servers and the public
   suffix list agree on, is safe in any database collation, and makes
   look-alike scripts visible instead of silently equal. One trailing root dot
   is dropped.
4. The local part is lower-cased (then NFC-normalised when non-ASCII).
   RFC 5321 says local parts *may* be case-sensitive, but practically every
   provider (Gmail, Microsoft, Yahoo, Exchange, Postfix defaults) treats them
   case-insensitively, and people type ``John.Smith@`` and ``john.smith@``
   interchangeably; treating them as different people causes misses, the
   opposite error never happens in practice.
5. ``googlemail.com`` is ``gmail.com``; dots in Gmail local parts are removed
   (Gmail ignores them). Only gmail.com: other Google-hosted domains cannot be
   recognised offline.
6. ``+tag`` sub-addressing is folded (``user+x@`` -> ``user@``) only for the
   domains in ``policy.subaddress_domains``, because elsewhere ``+`` may be a
   real part of the mailbox name. A local part that would become empty keeps
   its ``+``.

Speed: nearly every address in real mail is plain ASCII ``local@host`` with
no display name, brackets or trailing dot, on a domain without Gmail or
sub-addressing rules. For those the rules above reduce to lower-casing, so
``canonical_address_uncached`` decides that with one precompiled regex and
returns ``email.lower()``; everything else takes the full path. The two
agree on every input (property test: fast path == full rules, arbitrary and
realistic inputs).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from urllib.parse import unquote

import idna

from matching.types import Policy

#: inputs longer than this are not addresses (RFC 5321 caps a path at 256)
MAX_INPUT = 512

_GMAIL = "gmail.com"
_GMAIL_ALIASES = frozenset({"googlemail.com"})
#: domains whose local parts get more than lower-casing
_FULL_RULES_DOMAINS = _GMAIL_ALIASES | {_GMAIL}

# RFC 5322 atext plus dots (consecutive/edge dots tolerated: they exist in the
# wild, e.g. Japanese carriers, and rejecting them would lose real people).
_ASCII_LOCAL_MATCH = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+").fullmatch
# Host-name labels; "_" tolerated (seen in internal DNS names).
_ASCII_DOMAIN = re.compile(
    r"(?:[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?"
)
#: a whole input that is already canonical but for case (the fast path):
#: local part as above, one "@", host-name labels in either case
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]{1,256}@"
    r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_\-]{0,61}[A-Za-z0-9_])?\.)*"
    r"[A-Za-z0-9_](?:[A-Za-z0-9_\-]{0,61}[A-Za-z0-9_])?"
).fullmatch
_BRACKETED = re.compile(r"[^<>]*<([^<>]*)>\s*")
_LOCAL_SPECIALS = frozenset('()<>[]:;@\\,"')
_EMPTY_POLICY = Policy()


def canonical_domain(value: str) -> str | None:
    """Lower-case ASCII (punycode) form of a host name, or None if it is not one."""
    if not isinstance(value, str):
        return None
    return _canonical_domain(value)


@lru_cache(maxsize=1 << 16)
def _canonical_domain(value: str) -> str | None:
    domain = value.strip()
    if domain.endswith("."):
        domain = domain[:-1]
    if not domain or len(domain) > 253 * 4:
        return None
    if domain.isascii():
        domain = domain.lower()
    else:
        mapped = _to_ascii(domain)
        if mapped is None:
            return None
        domain = mapped
    if len(domain) > 253 or not _ASCII_DOMAIN.fullmatch(domain):
        return None
    return domain


def _to_ascii(domain: str) -> str | None:
    """UTS #46 map then punycode each label; None when IDNA rejects it."""
    try:
        mapped = idna.uts46_remap(domain, std3_rules=False, transitional=False)
        if mapped.endswith("."):
            mapped = mapped[:-1]
        labels = []
        for label in mapped.split("."):
            if label.isascii():
                labels.append(label.lower())
            else:
                labels.append(idna.alabel(label).decode("ascii"))
        return ".".join(labels)
    except (idna.IDNAError, UnicodeError, ValueError, IndexError):
        return None


def canonical_address(email: str, policy: Policy | None = None) -> str | None:
    """The canonical form of ``email`` under ``policy``, or None if it is not an address."""
    if not isinstance(email, str):
        return None
    subaddress = subaddress_domains(policy if policy is not None else _EMPTY_POLICY)
    return _canonical_address(email, subaddress)


@lru_cache(maxsize=64)
def subaddress_domains(policy: Policy) -> frozenset[str]:
    """``policy.subaddress_domains`` in canonical form (googlemail counts as gmail)."""
    out: set[str] = set()
    for entry in policy.subaddress_domains:
        domain = canonical_domain(entry)
        if domain is not None:
            out.add(_GMAIL if domain in _GMAIL_ALIASES else domain)
    return frozenset(out)


def canonical_address_uncached(email: str, subaddress: frozenset[str]) -> str | None:
    """The work of ``canonical_address`` for callers that cache on their own key.

    Fast path: a plain ASCII ``local@host`` (no spaces, brackets, ``mailto:``,
    trailing dot, Gmail or sub-addressing domain) is canonical once lower-cased,
    which one regex match decides; anything else takes the full rules in
    ``_canonical_address_full``. Both give the same result for every input
    (property-tested in tests/matching/test_canonical.py).
    """
    if _PLAIN_ADDRESS(email) is not None:
        at = email.rfind("@")
        domain = email[at + 1 :].lower()
        if len(domain) <= 253 and domain not in _FULL_RULES_DOMAINS and domain not in subaddress:
            return email.lower()
    return _canonical_address_full(email, subaddress)


def _canonical_address_full(email: str, subaddress: frozenset[str]) -> str | None:
    text = email.strip()
    if not text or len(text) > MAX_INPUT:
        return None
    if "<" in text or ">" in text:
        bracketed = _BRACKETED.fullmatch(text)
        if bracketed is None:
            return None
        text = bracketed.group(1).strip()
    if text[:1] in "mM" and text[:7].lower() == "mailto:":
        text = unquote(text[7:].split("?", 1)[0]).strip()
    at = text.rfind("@")
    if at <= 0:
        return None
    domain = _canonical_domain(text[at + 1 :])
    if domain is None:
        return None
    local = text[:at]
    if local.isascii():
        if _ASCII_LOCAL_MATCH(local) is None:
            return None
        local = local.lower()
    else:
        unicode_local = _unicode_local(local)
        if unicode_local is None:
            return None
        local = unicode_local
    if domain in _GMAIL_ALIASES:
        domain = _GMAIL
    if domain == _GMAIL:
        local = local.replace(".", "")
        if not local:
            return None
    if domain in subaddress:
        plus = local.find("+")
        if plus > 0:
            local = local[:plus]
    if not _is_fixed_point(local):
        return None
    return local + "@" + domain


def _unicode_local(local: str) -> str | None:
    local = unicodedata.normalize("NFC", local.lower())
    for char in local:
        # Controls, format characters, surrogates, unassigned, separators
        # (spaces) and RFC 5322 specials cannot be part of a mailbox name.
        if char in _LOCAL_SPECIALS or unicodedata.category(char)[0] in "CZ":
            return None
    return local if _is_fixed_point(local) else None


def _is_fixed_point(local: str) -> bool:
    # lower() can denormalise, NFC can re-case a few code points, and cutting
    # dots or a +tag can leave a combining mark next to its base: only a
    # fixed point of the whole transform is a canonical form.
    return local.isascii() or unicodedata.normalize("NFC", local.lower()) == local


_canonical_address = lru_cache(maxsize=1 << 16)(canonical_address_uncached)

