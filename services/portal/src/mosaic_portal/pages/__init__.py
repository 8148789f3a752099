"""The pages: one module per person (student, family, teacher) and what they share."""
