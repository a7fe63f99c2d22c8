"""Bimo: an open-source FinOps warehouse for AI, cloud and SaaS spend."""

__version__ = "0.1.0"
