"""Dev-only stand-in for a district's identity provider in docker compose.

`python dev_keys.py init DIR` writes a signing key and its JWKS once (services read DIR/jwks.json);
`python dev_keys.py token DIR --district D --user U --role teacher` prints a bearer token signed by it.
Never use these keys outside a laptop: production points the services at the district's OIDC JWKS URL.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mosaic_runtime.auth import SigningKey, generate_signing_key, mint_token

KID = "mosaic-dev-compose"


def init(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "jwks.json").exists() and (folder / "signing-key.pem").exists():
        print(f"dev keys already in {folder}")
        return
    key = generate_signing_key(KID)
    (folder / "signing-key.pem").write_bytes(key.private_pem)
    (folder / "jwks.json").write_text(key.jwks_json)
    print(f"wrote {folder / 'jwks.json'} and {folder / 'signing-key.pem'}")


def token(folder: Path, district: str, user: str, roles: list[str]) -> str:
    key = SigningKey(KID, (folder / "signing-key.pem").read_bytes(), json.loads((folder / "jwks.json").read_text()))
    return mint_token(key, district_id=district, user_id=user, roles=tuple(roles))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init").add_argument("folder", type=Path)
    minting = commands.add_parser("token")
    minting.add_argument("folder", type=Path)
    minting.add_argument("--district", required=True)
    minting.add_argument("--user", required=True)
    minting.add_argument("--role", action="append", default=None, help="repeatable; default: teacher")
    args = parser.parse_args()
    if args.command == "init":
        init(args.folder)
    else:
        print(token(args.folder, args.district, args.user, args.role or ["teacher"]))


if __name__ == "__main__":
    main()
