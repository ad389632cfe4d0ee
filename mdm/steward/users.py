"""Steward accounts: who may read, decide, or manage (table `users` of the durable store).

Passwords are stored as scrypt hashes (hashlib.scrypt, a memory-hard KDF from the standard
library) with a 16-byte random salt per user: `scrypt$n$r$p$salt$hash` (salt and hash base64),
so the cost can be raised later without breaking old hashes. A new user is a viewer unless a
role is given (least privilege). A change of role or password ends the user's page sessions in the
same transaction (sessions.py): they sign in again, under the new role.

Signing in goes through signin.py (throttled and audited); `authenticate` here is the bare check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from typing import get_args

from mdm.errors import MdmError
from mdm.state import StateStore
from mdm.steward.audit import now_utc, write_audit
from mdm.steward.sessions import end_user_sessions
from mdm.types import StewardRole

ROLES: tuple[StewardRole, ...] = get_args(StewardRole)
DEFAULT_ROLE: StewardRole = "viewer"
MIN_PASSWORD_CHARS = 8
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_RANK = {"viewer": 0, "steward": 1, "admin": 2}


class UserError(MdmError, ValueError):
    """A user cannot be added or changed (bad name, weak password, unknown role, exists...)."""


@dataclass(frozen=True)
class User:
    username: str
    role: StewardRole

    def can(self, role: StewardRole) -> bool:
        """True when this user's role is `role` or above (viewer < steward < admin)."""
        return _RANK[self.role] >= _RANK[role]


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    expected = base64.b64decode(digest)
    got = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
    )
    return hmac.compare_digest(got, expected)


def _check_role(role: str) -> StewardRole:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; use one of {', '.join(ROLES)}, e.g. --role steward")
    return role


def add_user(store: StateStore, username: str, password: str, role: str = DEFAULT_ROLE, *, by: str) -> User:
    """Create a user (the audit log records who did)."""
    if not _USERNAME.match(username):
        raise UserError(f"user name {username!r}: use letters, digits, '.', '_', '@' or '-' (e.g. ana.lee)")
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    checked = _check_role(role)
    now = now_utc()
    try:
        with store.transaction() as con:
            con.execute(
                "INSERT INTO users (username, password_hash, role, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
                (username, hash_password(password), checked, now, by),
            )
            write_audit(con, by, "user_add", f"user:{username}", None, None, {"username": username, "role": checked})
    except sqlite3.IntegrityError:
        raise UserError(f"user {username!r} exists already; change a role with `mdm users set-role`") from None
    return User(username, checked)


def set_role(store: StateStore, username: str, role: str, *, by: str) -> User:
    checked = _check_role(role)
    with store.transaction() as con:
        row = con.execute("SELECT role FROM users WHERE username = ?", (username,)).fetchone()
        if row is None:
            raise UserError(f"no user {username!r}; add one with `mdm users add {username} --role {checked}`")
        con.execute("UPDATE users SET role = ? WHERE username = ?", (checked, username))
        write_audit(con, by, "user_role", f"user:{username}", None, {"role": row[0]}, {"role": checked})
        if row[0] != checked:
            end_user_sessions(con, username, by=by, reason=f"role changed to {checked}")
    return User(username, checked)


def set_password(store: StateStore, username: str, password: str, *, by: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    with store.transaction() as con:
        if (
            con.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?", (hash_password(password), username)
            ).rowcount
            != 1
        ):
            raise UserError(f"no user {username!r}")
        write_audit(con, by, "user_password", f"user:{username}", None, None, None)
        end_user_sessions(con, username, by=by, reason="password changed")


def authenticate(store: StateStore, username: str, password: str) -> User | None:
    """The user, if the password is right; None otherwise (unknown users cost the same time)."""
    rows = store.query("SELECT password_hash, role FROM users WHERE username = ?", (username,))
    if not rows:
        verify_password(password, hash_password("not a user"))  # same work as a real check
        return None
    stored, role = rows[0]
    return User(username, role) if verify_password(password, stored) else None


def end_sessions(store: StateStore, username: str, *, by: str) -> int:
    """End every page session of `username` (an admin's action, audited even when none was live)."""
    with store.transaction() as con:
        if con.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone() is None:
            raise UserError(f"no user {username!r}; `mdm users list` lists them")
        return end_user_sessions(con, username, by=by, reason="ended by an admin", always=True)


def get_user(store: StateStore, username: str) -> User | None:
    rows = store.query("SELECT role FROM users WHERE username = ?", (username,))
    return User(username, rows[0][0]) if rows else None


def list_users(store: StateStore) -> list[tuple[str, str, str, str]]:
    """(username, role, created_at, created_by) of every user, by name."""
    return [tuple(r) for r in store.query("SELECT username, role, created_at, created_by FROM users ORDER BY username")]
