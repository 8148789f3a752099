"""Notify's REST API: preferences and rules for portals, unsubscribe for families, provider webhooks."""
