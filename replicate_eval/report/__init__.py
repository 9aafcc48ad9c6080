"""The report stage: tables for people, files for machines."""
