"""Analytics keeps no state of its own: its database holds only the chassis' outbox and positions."""

from __future__ import annotations

from sqlalchemy import MetaData

from mosaic_runtime.db import runtime_tables

metadata = MetaData()
runtime_tables(metadata)
