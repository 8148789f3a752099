"""Bulk import of historical evidence from CSV: streaming, validated, batched, resumable."""
