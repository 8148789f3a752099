"""Pure evidence domain: frameworks, rosters, recording checks and corrections. No Kafka, HTTP or SQL."""
