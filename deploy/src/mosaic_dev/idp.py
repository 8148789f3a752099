"""A development identity provider: one signing key kept under the data folder, tokens on demand.

Services verify tokens against its JWKS file, exactly as they would against a district's IdP.
"""

from __future__ import annotations

import json
from pathlib import Path

from mosaic_runtime.auth import SigningKey, generate_signing_key, mint_token

ISSUER = "https://idp.mosaic.local"
AUDIENCE = "mosaic"


class DevIdentityProvider:
    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "dev-idp"
        self.key = self._load_or_create()

    @property
    def jwks_file(self) -> Path:
        return self.folder / "jwks.json"

    def token(self, *, district_id: str, user_id: str, roles: tuple[str, ...], ttl_seconds: int = 12 * 3600) -> str:
        return mint_token(
            self.key,
            district_id=district_id,
            user_id=user_id,
            roles=roles,
            issuer=ISSUER,
            audience=AUDIENCE,
            ttl_seconds=ttl_seconds,
        )

    def _load_or_create(self) -> SigningKey:
        pem_file = self.folder / "signing-key.pem"
        if pem_file.exists() and self.jwks_file.exists():
            jwks = json.loads(self.jwks_file.read_text())
            return SigningKey(jwks["keys"][0]["kid"], pem_file.read_bytes(), jwks)
        self.folder.mkdir(parents=True, exist_ok=True)
        key = generate_signing_key("mosaic-dev-idp")
        pem_file.write_bytes(key.private_pem)
        pem_file.chmod(0o600)
        self.jwks_file.write_text(key.jwks_json)
        return key
