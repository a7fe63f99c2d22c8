"""Budgets and alerts as plain Python (no Dagster): configuration, budget status, alert rules,
and delivery to Slack-compatible webhooks, JSON webhooks and email.

See docs/budgets-and-alerts.md for the file formats, rules, dedupe keys and retry policy.
"""
