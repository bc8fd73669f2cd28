"""Secrets at rest: a versioned AES-GCM envelope with key ids, for rotation.

Envelope: ``chv1:<key id>:<base64 nonce>:<base64 ciphertext+tag>``. The associated data
binds a secret to its owner (``account:<id>``), so a ciphertext copied onto another row
does not decrypt. Keys come from ``CLIENTHUB_ENCRYPTION_KEYS`` (``id=base64key,...``, the
first one encrypts, all of them decrypt); without it one key, ``k0``, is derived from the
secret key with HKDF, which is enough for a single installation. That derived ``k0`` stays
readable after keys are listed (unless the list names a ``k0`` of its own), so secrets and
audit rows sealed before the switch can still be read and re-encrypted.

The audit chain is keyed from the same keys (:meth:`Keyring.audit_ring`): one HMAC key per
key id, derived with a label of its own, so that it rotates with them and a key that
encrypts secrets never signs anything.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.errors import ConfigurationError
from hub.settings import Settings, get_settings

PREFIX = "chv1"
#: A key id goes into envelopes (':'-separated) and audit rows (32 characters).
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


@dataclass(frozen=True)
class Keyring:
    current: str
    keys: dict[str, bytes]

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Keyring:
        settings = settings or get_settings()
        spec = settings.encryption_keys.get_secret_value().strip()
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"clienthub/k0",
                       info=b"account secrets").derive(
            settings.secret_key.get_secret_value().encode())
        if not spec:
            return cls("k0", {"k0": derived})
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for part in spec.split(","):
            kid, _, value = part.strip().partition("=")
            try:
                key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            except ValueError as exc:
                raise ConfigurationError(f"encryption key {kid!r} is not base64") from exc
            if not _KEY_ID.fullmatch(kid) or len(key) != 32:
                raise ConfigurationError(
                    "CLIENTHUB_ENCRYPTION_KEYS must be 'id=<32 bytes base64>,...' (an id is up "
                    "to 32 letters, digits, '-' or '_'); make a key with 'clienthub keys "
                    "generate'"
                )
            keys[kid] = key
            order.append(kid)
        # Read-only: what was sealed before keys were listed must stay readable.
        keys.setdefault("k0", derived)
        return cls(order[0], keys)

    def audit_ring(self) -> Keyring:
        """The audit chain's HMAC keys: one per key id, derived apart from the encryption
        key of the same id (HKDF, its own label), the same one current."""
        return Keyring(self.current, {
            kid: HKDF(algorithm=hashes.SHA256(), length=32, salt=b"clienthub/audit",
                      info=b"audit chain:" + kid.encode()).derive(key)
            for kid, key in self.keys.items()
        })

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext.encode(),
                                                         context.encode())
        b64 = base64.urlsafe_b64encode
        return f"{PREFIX}:{self.current}:{b64(nonce).decode()}:{b64(sealed).decode()}"

    def decrypt(self, envelope: str, context: str) -> str:
        try:
            prefix, kid, nonce, sealed = envelope.split(":")
        except ValueError as exc:
            raise ConfigurationError("a stored secret is not a valid envelope") from exc
        if prefix != PREFIX:
            raise ConfigurationError(f"unknown secret envelope version {prefix!r}")
        if kid not in self.keys:
            raise ConfigurationError(
                f"the secret was encrypted with key {kid!r}, which is not configured; add it "
                "back to CLIENTHUB_ENCRYPTION_KEYS"
            )
        try:
            plain = AESGCM(self.keys[kid]).decrypt(base64.urlsafe_b64decode(nonce),
                                                    base64.urlsafe_b64decode(sealed),
                                                    context.encode())
        except InvalidTag as exc:
            raise ConfigurationError(
                "a stored secret does not decrypt (wrong key, or moved to another row)"
            ) from exc
        return plain.decode()

    def key_of(self, envelope: str) -> str:
        return envelope.split(":")[1]


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
