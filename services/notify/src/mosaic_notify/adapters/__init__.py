"""Notify's adapters: the database, SMTP, webhooks and the workers that drive delivery."""
