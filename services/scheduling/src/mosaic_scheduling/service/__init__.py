"""The scheduling service's use cases, one module each: get, decide, commit; results, never HTTP status codes."""
