"""Dagster definitions for Bimo: thin assets over ingestion, dbt and `bimo.analytics`."""
