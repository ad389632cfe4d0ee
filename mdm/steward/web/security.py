"""Sessions and CSRF tokens for the steward page.

- The session is Starlette's SessionMiddleware: a cookie holding the session as JSON, signed
  with itsdangerous (HMAC-SHA256 here), HttpOnly, SameSite=Strict, Path=/, and Secure (named
  `__Host-mdm_session`) when the page is served behind TLS (`mdm serve --behind-tls`). It holds
  a random session token once signed in, its issue time, the CSRF token and a one-shot message.
  It expires SESSION_HOURS after it was issued, however busy its user.
- Signed in means the token's server-side session is live (mdm/steward/sessions.py): signing out,
  an admin ending the user's sessions, or a change of role or password ends it for good, so a
  copied cookie stops working too. The user and role are read from the store on every request.
- The secret is 32 random bytes in `<state>/steward_web.secret`, created 0600 on first start and
  reused after, so sessions survive a restart; delete the file to sign everyone out.
- The CSRF token is random and kept in the session. Every POST must carry it; signing in and out
  start a new session (no session fixation, old tokens die).
- `now()` is the clock of sessions and sign-in throttling; create_app takes another (tests).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Any

import itsdangerous
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp

from mdm.steward.sessions import SESSION_HOURS

SECRET_FILE = "steward_web.secret"
COOKIE = "mdm_session"
SECURE_COOKIE = "__Host-" + COOKIE
"""The cookie's name behind TLS: browsers take a __Host- cookie only Secure, Path=/, without Domain."""
TLS_ENV = "MDM_BEHIND_TLS"
"""Set to 1 (or `mdm serve --behind-tls`) when a TLS proxy serves the page: Secure cookies."""


def now() -> float:
    """The page's clock: seconds since the epoch."""
    return time.time()


def load_secret(state_dir: Path) -> bytes:
    """The signing secret, created (0600) on first use."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_bytes()
        if len(secret) < 32:
            raise RuntimeError(f"{path} is damaged (fewer than 32 bytes); delete it to make a new one") from None
        return secret
    secret = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as f:
        f.write(secret)
    return secret


class SignedSessions(SessionMiddleware):
    """Starlette's SessionMiddleware with this page's cookie, signed with HMAC-SHA256 (its own
    signer uses itsdangerous' default, HMAC-SHA1; tests/test_steward_web.py pins the length)."""

    def __init__(self, app: ASGIApp, secret: bytes, secure: bool = False) -> None:
        super().__init__(
            app,
            secret_key=secret.hex(),
            session_cookie=SECURE_COOKIE if secure else COOKIE,
            max_age=SESSION_HOURS * 3600,
            path="/",
            same_site="strict",
            https_only=secure,  # Secure: the browser sends it over TLS only
        )
        self.signer = itsdangerous.TimestampSigner(secret, digest_method=hashlib.sha256)


def new_session(session: dict[str, Any], token: str | None = None) -> None:
    """Replace the session's content: a new CSRF token, issued now, signed in with the server-side
    session `token` (or nobody)."""
    session.clear()
    session.update({"s": token, "t": time.time(), "csrf": secrets.token_urlsafe(32)})


def session_token() -> str:
    """A new server-side session's token (sessions.py keeps its hash)."""
    return secrets.token_urlsafe(32)


def live_session(connection: HTTPConnection) -> dict[str, Any]:
    """The request's session, started anew when it is empty, malformed or older than SESSION_HOURS.

    The signature's own age check restarts at every change of the session (a message shown, say);
    the issue time kept inside makes SESSION_HOURS a limit on the whole session."""
    session: dict[str, Any] = connection.session
    issued = session.get("t")
    fresh = (
        isinstance(issued, int | float)
        and time.time() - issued <= SESSION_HOURS * 3600
        and isinstance(session.get("csrf"), str)
    )
    if not fresh:
        new_session(session)
    return session


def csrf_ok(session: dict[str, Any], token: str | None) -> bool:
    expected = session.get("csrf")
    return bool(token) and isinstance(expected, str) and hmac.compare_digest(expected.encode(), (token or "").encode())
