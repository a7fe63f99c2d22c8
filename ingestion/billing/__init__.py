"""Billing sources (source tag `billing`): cloud exports and AI provider cost/usage APIs.

Every parser produces Arrow tables in one canonical schema (`schema.LINE_ITEM_SCHEMA`, FOCUS
column semantics in snake_case) and quarantine rows; `ingestion.billing.load` writes them with
restatement-safe replace-by-delivery semantics.
"""
