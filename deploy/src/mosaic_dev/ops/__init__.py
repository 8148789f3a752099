"""mosaic-ops: what a platform team runs to repair Mosaic without a developer (dead letters first)."""
