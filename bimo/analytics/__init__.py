"""Analytics logic (anomalies, forecasts) as plain functions over polars frames: no Dagster here."""
