"""E-mail addresses: cleaned, syntax-checked offline, domain typos corrected, a provider-aware key.

The columns produced, placeholders and the regular-expression fast path: docs/architecture.md,
section "mdm/standardize/email.py".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import email_validator
import polars as pl
from email_validator import EmailNotValidError, validate_email

from mdm.config.dictionary import Dictionary
from mdm.standardize.base import FieldContext, Standardized, flags_from, map_distinct, tidy

ParsedEmail = tuple[str | None, str | None, str | None, str | None]
"""(clean address, key, domain, flag) of one raw value."""

_NO_REPLY = frozenset({"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply"})
# a placeholder is one of these before the @ and one of them as the domain's name: none@none.com,
# no@email.com, test@test.com, na@na.com, unknown@noemail.com; not ann@mail.com, nor none@acme.com
_PLACEHOLDER_WORDS = frozenset(
    {"none", "no", "na", "nil", "null", "test", "unknown", "noemail", "nomail", "email", "mail", "fake", "asdf"}
)
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_FAST = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+[a-z]{{2,63}}", re.ASCII)
"""The common clean case: ASCII dot-atom local part, LDH domain labels, an alphabetic TLD."""


@dataclass(frozen=True)
class Provider:
    """One row of email_providers: what the provider's mailboxes ignore."""

    ignores_dots: bool
    tag_separator: str | None
    canonical_domain: str


@dataclass(frozen=True)
class EmailRules:
    """The dictionary's e-mail tables: misspelt domain -> domain, and domain -> provider."""

    typos: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    providers: Mapping[str, Provider] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_rows(cls, typos: list[dict[str, str]], providers: list[dict[str, str]]) -> EmailRules:
        return cls(
            MappingProxyType({r["typo"].strip().lower(): r["domain"].strip().lower() for r in typos}),
            MappingProxyType(
                {
                    r["domain"].strip().lower(): Provider(
                        r["ignores_dots"].strip() == "1",
                        r["tag_separator"].strip() or None,
                        r["canonical_domain"].strip().lower(),
                    )
                    for r in providers
                }
            ),
        )


NO_RULES = EmailRules()
_RULES: dict[tuple[Path, Path], EmailRules] = {}


def email_rules(dictionary: Dictionary) -> EmailRules:
    """The dictionary's e-mail tables, read once per pair of table files."""
    tables = ("email_domain_typos", "email_providers")
    paths = (dictionary.reference_path(tables[0]).resolve(), dictionary.reference_path(tables[1]).resolve())
    if paths not in _RULES:
        _RULES[paths] = EmailRules.from_rows(*(dictionary.reference_rows(t) for t in tables))
    return _RULES[paths]


def _unwrap(value: str) -> str:
    """'Ann <mailto:Ann@X.org>' -> 'ann@x.org' (trimmed, unwrapped, lower-cased; not yet checked)."""
    text = value.strip()
    if text.endswith(">") and "<" in text:
        text = text[text.rindex("<") + 1 : -1].strip()
    if text[:7].lower() == "mailto:":
        text = text[7:].split("?", 1)[0].strip()
    text = text.strip("<>").strip()
    if " @" in text or "@ " in text:
        text = re.sub(r"\s*@\s*", "@", text)
    return text.lower()


def _is_fast_clean(address: str) -> bool:
    """True where email-validator would accept `address` unchanged (see the module's docstring)."""
    if len(address) > 254 or not _FAST.fullmatch(address) or "--" in address:
        return False
    local, _, domain = address.rpartition("@")
    if len(local) > 64:
        return False
    return not any(domain == d or domain.endswith("." + d) for d in email_validator.SPECIAL_USE_DOMAIN_NAMES)


def _validated(address: str) -> str:
    """email-validator's normalized form, lower-cased; raises EmailNotValidError."""
    return validate_email(address, check_deliverability=False).normalized.lower()


def parse_email(value: str, rules: EmailRules = NO_RULES, fast: bool = True) -> ParsedEmail:
    """(clean, key, domain, flag) for one raw value. Never raises.

    fast=False sends every address to email-validator (for the benchmark and the tests)."""
    candidate = _unwrap(value)
    if fast and _is_fast_clean(candidate):
        address = candidate
    else:
        try:
            address = _validated(candidate)
        except EmailNotValidError as exc:
            return None, None, None, f"invalid e-mail '{value}': {exc}"
    local, _, domain = address.rpartition("@")
    flag = None
    if domain in rules.typos:
        flag = f"domain typo '{domain}' corrected to '{rules.typos[domain]}'"
        domain = rules.typos[domain]
    if local in _NO_REPLY or (local in _PLACEHOLDER_WORDS and domain.split(".", 1)[0] in _PLACEHOLDER_WORDS):
        return None, None, None, f"placeholder e-mail '{value}'"
    return f"{local}@{domain}", _key(local, domain, rules), domain, flag


def _key(local: str, domain: str, rules: EmailRules) -> str:
    provider = rules.providers.get(domain)
    if provider is None:
        return f"{local}@{domain}"
    if provider.tag_separator:
        local = local.split(provider.tag_separator, 1)[0] or local
    if provider.ignores_dots:
        local = local.replace(".", "") or local
    return f"{local}@{provider.canonical_domain}"


def standardize_email(raw: pl.Series, ctx: FieldContext) -> Standardized:
    """E-mail column -> clean address, provider-aware key, flags and the extras `domain` and `local`
    (the key's part before the @)."""
    rules = email_rules(ctx.dictionary)
    clean, key, domain, flag = map_distinct(
        tidy(raw), lambda value: parse_email(value, rules), [pl.String, pl.String, pl.String, pl.String]
    )
    local = key.str.extract(r"^(.+)@", 1)  # the key's mailbox: a blocking key across domains (typos, moves)
    return Standardized(clean.alias(raw.name), key, flags_from(flag), {"domain": domain, "local": local})
