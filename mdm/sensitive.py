"""Sensitive dictionary fields at rest: encrypted with AES-GCM, masked for reading, compared as tokens.

A field marked `sensitive: true` in the dictionary (the bundled one marks `national_id`) never
reaches the master, its versions, its history or the durable store in clear. Wherever the master
holds one of its values (golden_customers, source_records' `<field>`, `<field>_raw` and
`<field>_key`, golden_customers_history, golden_attribute_lineage, the quarantined row's raw
text) it holds a token:

    enc:v1:<key id>:<base64url(nonce | ciphertext | tag)>

- AES-256-GCM (`cryptography`), with a key derived from the data key (HKDF-SHA256).
- The 96-bit nonce is an HMAC-SHA256 of the value under a second derived key (the construction
  of synthetic-IV modes): equal values give equal tokens, so joins, blocking and the history's
  change detection work on tokens without decrypting, and a nonce is never reused for a different
  value. The cost: a reader of the file learns which records share a value, which matching needs
  anyway.
- Beside the golden value, `<field>_masked` shows its last 4 characters (`*****6789`) for analysts.

The run itself compares the clear values in its work files (private to the run's user, removed
when it ends), so matching, typo levels included, is exactly as without encryption.

The data key: 32 random bytes, base64, read from the file `MDM_DATA_KEY_FILE` names (mode 0600,
outside the state directory and the master's directory, so a backup of either never holds it) or
from `MDM_DATA_KEY` itself. `mdm key create FILE` makes one. Only a process given the key can
decrypt (`mdm query --reveal`, `mdm export --reveal`, `mdm explain`); the steward page shows masked
values only. A lost key makes the encrypted values unreadable: keep a copy apart from the backups.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mdm.errors import MdmError

KEY_FILE_ENV = "MDM_DATA_KEY_FILE"
KEY_ENV = "MDM_DATA_KEY"
TOKEN_PREFIX = "enc:v1:"
MASK_KEEP = 4
"""Characters a masked value shows (the last ones)."""
RECORD_SUFFIXES = ("", "_raw", "_key")
"""The columns of a standardized record that hold a field's value: clean, as read, matching key."""
_AAD = b"mdm sensitive field v1"
_NONCE_BYTES = 12


class DataKeyError(MdmError):
    """The data key is missing, unreadable, unsafe, or not the one the values were encrypted with."""


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mdm " + purpose).derive(secret)


@dataclass(frozen=True)
class DataKey:
    secret: bytes = field(repr=False)
    origin: str
    """Where it was read from: the file's path, or the environment variable's name."""

    @property
    def key_id(self) -> str:
        """8 hex digits naming the key (not revealing it): tokens carry it, the store remembers it."""
        return hmac.new(_derive(self.secret, b"key id"), b"mdm", hashlib.sha256).hexdigest()[:8]


def new_key_text() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def create_key_file(path: Path) -> DataKey:
    """A new random key in a new file readable by its owner only (an existing file is never overwritten)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise DataKeyError(f"{path} exists: a data key is never overwritten (what it encrypted needs it)") from None
    with os.fdopen(fd, "w") as out:
        out.write(new_key_text() + "\n")
    return _parse(path.read_text(), str(path))


def _parse(text: str, origin: str) -> DataKey:
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        secret = b""
    if len(secret) != 32:
        raise DataKeyError(
            f"the data key from {origin} is not 32 bytes in base64 (make one with `mdm key create FILE`)"
        )
    return DataKey(secret, origin)


def load_data_key(protected_dirs: Iterable[Path] = (), env: Mapping[str, str] | None = None) -> DataKey | None:
    """The data key from `MDM_DATA_KEY_FILE` or `MDM_DATA_KEY`, or None when neither is set.

    A key file inside one of `protected_dirs` (the state directory, the master's directory) is
    refused: a backup or a copy of those would carry the key beside the values it protects. So is
    a key file other users can read."""
    env = os.environ if env is None else env
    if env.get(KEY_FILE_ENV):
        path = Path(env[KEY_FILE_ENV]).expanduser().resolve()
        for directory in protected_dirs:
            if path.is_relative_to(directory.resolve()):
                raise DataKeyError(
                    f"{KEY_FILE_ENV}={path} is inside {directory}: keep the data key outside the state"
                    " and master directories (their backups would hold it beside the data)"
                )
        try:
            mode = path.stat().st_mode
            text = path.read_text()
        except OSError as exc:
            raise DataKeyError(f"{KEY_FILE_ENV}={path}: cannot read the data key ({exc.strerror})") from None
        if mode & 0o077:
            raise DataKeyError(
                f"{KEY_FILE_ENV}={path} can be read by other users (mode {mode & 0o777:o}): chmod 600 it"
            )
        return _parse(text, str(path))
    if env.get(KEY_ENV):
        return _parse(env[KEY_ENV], KEY_ENV)
    return None


def run_cipher(sensitive_columns: Mapping[str, list[str]], protected_dirs: Iterable[Path]) -> FieldCipher | None:
    """The cipher a run encrypts with: None when no source maps a sensitive field, else one made
    from the data key, which must then be set (DataKeyError names the sources that need it)."""
    if not sensitive_columns:
        return None
    key = load_data_key(protected_dirs)
    if key is None:
        mapped = ", ".join(f"{source} ({', '.join(columns)})" for source, columns in sensitive_columns.items())
        raise DataKeyError(
            f"sources map sensitive fields, kept encrypted at rest: {mapped}; give the data key with"
            f" {KEY_FILE_ENV}=FILE (make one with `mdm key create FILE`, outside the master's and the state's"
            f" directories) or {KEY_ENV}"
        )
    return FieldCipher(key)


def reader_cipher() -> FieldCipher:
    """The cipher a reader decrypts with (`--reveal`): the data key must be set."""
    key = load_data_key()
    if key is None:
        raise DataKeyError(f"revealing sensitive values needs the data key: set {KEY_FILE_ENV}=FILE (or {KEY_ENV})")
    return FieldCipher(key)


def reveal_frame(frame: pl.DataFrame, cipher: FieldCipher) -> pl.DataFrame:
    """Every token in the text columns of `frame` decrypted (the other values as they are)."""
    columns = [
        name
        for name, dtype in frame.schema.items()
        if dtype == pl.String and frame[name].str.starts_with(TOKEN_PREFIX).any()
    ]
    return frame.with_columns(cipher.decrypt_series(frame[name]).alias(name) for name in columns)


def is_token(value: object) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


def mask(text: str) -> str:
    """`*****6789`: the last MASK_KEEP characters; a value no longer than that is masked whole."""
    keep = MASK_KEEP if len(text) > MASK_KEEP else 0
    return "*" * (len(text) - keep) + text[len(text) - keep :]


class FieldCipher:
    """Encrypts and decrypts the values of sensitive fields with one data key."""

    def __init__(self, key: DataKey):
        self.key = key
        self.key_id = key.key_id
        self._aead = AESGCM(_derive(key.secret, b"aes-gcm"))
        self._nonce_key = _derive(key.secret, b"nonce")

    def encrypt(self, text: str) -> str:
        data = text.encode()
        nonce = hmac.new(self._nonce_key, data, hashlib.sha256).digest()[:_NONCE_BYTES]
        sealed = nonce + self._aead.encrypt(nonce, data, _AAD)
        return f"{TOKEN_PREFIX}{self.key_id}:{base64.urlsafe_b64encode(sealed).decode().rstrip('=')}"

    def decrypt(self, token: str) -> str:
        try:
            key_id, body = token.removeprefix(TOKEN_PREFIX).split(":", 1)
        except ValueError:
            raise DataKeyError("not an encrypted value") from None
        if key_id != self.key_id:
            raise DataKeyError(
                f"a value was encrypted with data key {key_id}, but the key given ({self.key.origin}) is {self.key_id}"
            )
        try:
            sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], _AAD).decode()
        except (InvalidTag, ValueError, binascii.Error):
            raise DataKeyError(f"an encrypted value (key {key_id}) is damaged: it does not decrypt") from None

    def encrypt_series(self, values: pl.Series) -> pl.Series:
        """Each non-null value as its token (each distinct value encrypted once), nulls kept."""
        return _map_distinct(values.cast(pl.String), self.encrypt)

    def decrypt_series(self, values: pl.Series) -> pl.Series:
        return _map_distinct(values.cast(pl.String), lambda v: self.decrypt(v) if is_token(v) else v)

    def reveal(self, value: Any) -> Any:
        """A cell of a query's result: decrypted when it is a token, else as it is (lists too)."""
        if is_token(value):
            return self.decrypt(value)
        if isinstance(value, list):
            return [self.reveal(v) for v in value]
        return value


def mask_series(values: pl.Series) -> pl.Series:
    return _map_distinct(values.cast(pl.String), mask)


def _map_distinct(values: pl.Series, fn: Any) -> pl.Series:
    distinct = values.drop_nulls().unique()
    if distinct.is_empty():
        return values
    return values.replace_strict(distinct, [fn(v) for v in distinct], default=None, return_dtype=pl.String)
