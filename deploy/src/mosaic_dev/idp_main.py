"""`uvicorn mosaic_dev.idp_main:app`: the dev identity provider for the stack's data folder."""

from __future__ import annotations

import os
from pathlib import Path

from mosaic_dev.idp import DevIdentityProvider
from mosaic_dev.idp_server import Client, create_idp_app

_data_dir = Path(os.environ.get("MOSAIC_DATA_DIR", "data"))
_portal = os.environ.get("MOSAIC_PORTAL_PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/")
app = create_idp_app(
    DevIdentityProvider(_data_dir),
    _data_dir,
    {
        "mosaic-portal": Client(
            os.environ.get("MOSAIC_PORTAL_OIDC_CLIENT_SECRET", "mosaic-portal-dev-client-secret"),
            (f"{_portal}/auth/callback",),
        )
    },
    os.environ.get("MOSAIC_DEV_IDP_URL", "http://127.0.0.1:8079"),
)
