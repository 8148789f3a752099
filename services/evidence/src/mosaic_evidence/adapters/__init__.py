"""Evidence adapters: the database tables and queries around the pure domain."""
