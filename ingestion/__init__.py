"""dlt ingestion: AI-gateway and CLI logs into the warehouse's `raw_gateway` dataset.

Runnable without Dagster: `ingestion.load.load_files(...)` is what `bimo load` and the Dagster
assets both call.
"""
