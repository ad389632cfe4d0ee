"""API tokens (table `api_tokens` of the durable store): bearer tokens for /api/, apart from the
steward page's users and sessions.

A token is `mdm_` and 32 random bytes (base64url); it is shown once, when made, and the store keeps
only its SHA-256 (a copy of the store authorises nobody), its name, its roles (`ApiRole`), who made
it and when, and who revoked it and when. Making and revoking are audited (`api_token_created`,
`api_token_revoked`); every call made with a token is audited by the API itself.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import get_args

from mdm.errors import MdmError
from mdm.state.audit import now_utc, write_audit
from mdm.state.store import StateStore
from mdm.types import ApiRole

API_ROLES: tuple[ApiRole, ...] = get_args(ApiRole)
TOKEN_PREFIX = "mdm_"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class TokenError(MdmError):
    """A token name or role refused, or no such token."""


@dataclass(frozen=True)
class ApiToken:
    name: str
    roles: tuple[ApiRole, ...]
    created_at: str
    created_by: str
    revoked_at: str | None = None
    revoked_by: str | None = None

    def can(self, role: ApiRole) -> bool:
        return role in self.roles

    @property
    def actor(self) -> str:
        """The token's name as an audit entry's actor (a colon: never a steward's user name)."""
        return f"token:{self.name}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _roles(roles: Sequence[str]) -> tuple[ApiRole, ...]:
    wrong = [r for r in roles if r not in API_ROLES]
    if wrong or not roles:
        raise TokenError(
            f"roles are {' and '.join(API_ROLES)} (e.g. --role resolve --role read), not {wrong or 'none'}"
        )
    return tuple(r for r in API_ROLES if r in roles)


def _stored_roles(text: str) -> tuple[ApiRole, ...]:
    return tuple(r for r in API_ROLES if r in text.split(","))


def create_token(store: StateStore, name: str, roles: Sequence[str], *, by: str) -> str:
    """Make a token; returns it (the only time it is seen). Names are unique, revoked ones too."""
    if not _NAME.match(name):
        raise TokenError(
            f"token name {name!r}: lower-case letters, digits, '.', '_' and '-', at most 64 (e.g. front-desk-1)"
        )
    checked = _roles(roles)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.transaction() as con:
        if con.execute("SELECT 1 FROM api_tokens WHERE name = ?", (name,)).fetchone():
            raise TokenError(f"a token named {name!r} exists (revoked ones keep their name): choose another name")
        con.execute(
            "INSERT INTO api_tokens (token_hash, name, roles, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
            (token_hash(token), name, ",".join(checked), now_utc(), by),
        )
        write_audit(con, by, "api_token_created", f"token:{name}", None, None, {"roles": list(checked)})
    return token


def revoke_token(store: StateStore, name: str, *, by: str) -> None:
    """Revoke a token at once (its next call answers 401); audited."""
    with store.transaction() as con:
        changed = con.execute(
            "UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE name = ? AND revoked_at IS NULL",
            (now_utc(), by, name),
        ).rowcount
        if changed != 1:
            raise TokenError(f"no live token named {name!r} (`mdm tokens list` shows them)")
        write_audit(con, by, "api_token_revoked", f"token:{name}", None, None, None)


def list_tokens(store: StateStore) -> list[ApiToken]:
    rows = store.query(
        "SELECT name, roles, created_at, created_by, revoked_at, revoked_by FROM api_tokens ORDER BY created_at, name"
    )
    return [ApiToken(n, _stored_roles(r), c, b, ra, rb) for n, r, c, b, ra, rb in rows]


def token_of(store: StateStore, token: str) -> ApiToken | None:
    """The live token a bearer token is, or None (unknown or revoked)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    rows = store.query(
        "SELECT name, roles, created_at, created_by FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
        (token_hash(token),),
    )
    if not rows:
        return None
    name, roles, created_at, created_by = rows[0]
    return ApiToken(name, _stored_roles(roles), created_at, created_by)
