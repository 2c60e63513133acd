"""Service-account keys: the JSON key file Google hands out (and the sandbox and tests generate),
and the public half the fake token endpoint verifies JWT signatures with.

The file has Google's format (`type`, `client_email`, `private_key_id`, `private_key` as PKCS#8
PEM, `token_uri`, ...), so `google.oauth2.service_account.Credentials.from_service_account_file`
reads it as it reads a real one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SANDBOX_SERVICE_ACCOUNT = "bitbylaw-sync@bitbylaw-sandbox.iam.gserviceaccount.com"


@dataclass(frozen=True)
class ServiceAccountKey:
    """What the token endpoint knows of a service account: its address and one public key."""

    email: str
    key_id: str
    public_pem: str


def generate_key_info(email: str, token_uri: str, key_id: str = "sim-key-1") -> dict[str, Any]:
    """A new RSA key pair as the content of a Google service-account JSON key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    project = email.split("@", 1)[1].split(".", 1)[0] if "@" in email else "sandbox"
    return {
        "type": "service_account",
        "project_id": project,
        "private_key_id": key_id,
        "private_key": pem,
        "client_email": email,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    }


def public_key_of(info: dict[str, Any]) -> ServiceAccountKey:
    private = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return ServiceAccountKey(info["client_email"], info["private_key_id"], public.decode())


def ensure_key_file(path: Path, token_uri: str, email: str = SANDBOX_SERVICE_ACCOUNT) -> ServiceAccountKey:
    """The key file at `path`, created (mode 0600) if missing; an existing key is kept (so a
    restarted sandbox keeps working with its saved state) with `token_uri` brought up to date."""
    info = json.loads(path.read_text("utf-8")) if path.exists() else generate_key_info(email, token_uri)
    if not path.exists() or info.get("token_uri") != token_uri:
        info["token_uri"] = token_uri
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(info, out, indent=1)
    return public_key_of(info)
