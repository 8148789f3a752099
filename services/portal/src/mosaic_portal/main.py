"""`uvicorn mosaic_portal.main:app`: the portal with settings from MOSAIC_PORTAL_* variables."""

from mosaic_portal.app import create_app

app = create_app()
