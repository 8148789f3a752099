"""Pure mastery domain: methods, knowledge tracing, scales, roll-up. No Kafka, HTTP or SQL here."""
