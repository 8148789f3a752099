"""Mosaic portal: server-rendered pages for students, families and teachers."""
