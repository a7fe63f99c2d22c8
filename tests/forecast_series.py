"""Daily cost series for the forecast and backtest tests: a long frame as
`bimo.analytics.run.forecast_series` returns it, and a weekly-seasonal growing signal."""

from datetime import date, timedelta

import numpy as np
import polars as pl

START = date(2026, 1, 1)


def series(values, *, key="total", tag="prod", level="total", start=START):
    return pl.DataFrame(
        {
            "unique_id": f"{tag}|cost_usd|{level}|{key}",
            "source_tag": tag,
            "series_level": level,
            "series_key": key,
            "provider": None if level == "total" else key,
            "ds": [start + timedelta(days=i) for i in range(len(values))],
            "y": [float(v) for v in values],
        },
        schema_overrides={"provider": pl.String},
    )


def weekly(n, *, seed=0, base=100.0, growth=0.003, noise=0.05):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    weekday = np.where(((START.weekday() + t) % 7) < 5, 1.0, 0.4)
    return base * (1 + growth * t) * weekday * (1 + rng.normal(0, noise, n))
