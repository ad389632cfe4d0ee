"""Sessions and CSRF tokens for the steward page, with the standard library only.

- The session is a cookie holding a small JSON payload (a random nonce, the user name once signed
  in, the issue time, a one-shot message) signed with HMAC-SHA256. HttpOnly, SameSite=Strict,
  Path=/; it expires after SESSION_HOURS. The user's role is read from the store on every request,
  so a role change or a removed user takes effect at once.
- The secret is 32 random bytes in `<state>/steward_web.secret`, created 0600 on first start and
  reused after, so sessions survive a restart; delete the file to sign everyone out.
- The CSRF token of a form is HMAC(secret, "csrf:" + session nonce). Every POST must carry it;
  signing in and out give the session a new nonce (no session fixation, old tokens die).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

SECRET_FILE = "steward_web.secret"
SESSION_HOURS = 12
COOKIE = "mdm_session"


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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, payload: dict[str, Any]) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def unsign(secret: bytes, cookie: str | None) -> dict[str, Any] | None:
    """The payload of a cookie we signed and that has not expired; None otherwise."""
    if not cookie or "." not in cookie:
        return None
    body, mac = cookie.rsplit(".", 1)
    expected = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        return None
    if not isinstance(payload, dict) or time.time() - float(payload.get("t", 0)) > SESSION_HOURS * 3600:
        return None
    return payload


def new_session(user: str | None = None) -> dict[str, Any]:
    return {"n": secrets.token_urlsafe(16), "u": user, "t": time.time()}


def csrf_token(secret: bytes, session: dict[str, Any]) -> str:
    return _b64(hmac.new(secret, f"csrf:{session['n']}".encode(), hashlib.sha256).digest())


def csrf_ok(secret: bytes, session: dict[str, Any], token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(csrf_token(secret, session), token or "")
