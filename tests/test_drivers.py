"""Top drivers of spend anomalies (`bimo.analytics.drivers`) on hand-computed spend rows: a day
without spend counts as $0 in the expected value, a dimension with one value in scope is
skipped, and anomalies of one series share its scope without sharing their answers."""

from datetime import date, timedelta

import polars as pl
import pytest

from bimo.analytics.coverage import Coverage
from bimo.analytics.drivers import with_drivers
from bimo.analytics.series import DIMENSIONS

DAYS = [date(2026, 9, 1) + timedelta(days=i) for i in range(29)]  # 2026-09-01 .. 09-29
SPIKE, DROP = date(2026, 9, 15), date(2026, 9, 22)


def _rows() -> pl.DataFrame:
    rows = []
    for ds in DAYS:
        rows.append({"ds": ds, "project": "steady", "y": 10.0})
        # `bursty` spends $5 on the first two Tuesdays, $40 on the spike's and nothing after.
        y = {date(2026, 9, 1): 5.0, date(2026, 9, 8): 5.0, SPIKE: 40.0}.get(ds)
        if y is not None:
            rows.append({"ds": ds, "project": "bursty", "y": y})
    frame = pl.DataFrame(rows)
    return frame.with_columns(
        source_tag=pl.lit("prod"),
        provider=pl.lit("openai"),  # one value in scope: never the driver
        model=pl.lit("gpt-4o-mini"),
        **{
            d: pl.lit(None, pl.String)
            for d in DIMENSIONS
            if d not in ("provider", "model", "project")
        },
    )


def _anomaly(day: date, direction: str, level: str = "total") -> dict:
    return {
        "anomaly_id": f"{level}-{day}",
        "metric": "cost_usd",
        "source_tag": "prod",
        "series_level": level,
        "anomaly_date": day,
        "direction": direction,
        **dict.fromkeys(DIMENSIONS),
    }


def _drivers(anomalies: list[dict], coverage: Coverage | None = None) -> dict[str, tuple]:
    out = with_drivers(pl.DataFrame(anomalies), _rows(), coverage)
    return {
        r["anomaly_id"]: (r["driver_dimension"], r["driver_value"], r["driver_delta_usd"])
        for r in out.iter_rows(named=True)
    }


def test_days_without_spend_count_as_zero_and_one_value_dimensions_are_skipped():
    found = _drivers([_anomaly(SPIKE, "spike"), _anomaly(DROP, "drop")])
    # The spike: the same Tuesdays ±1 and ±2 weeks are $5, $5, $0, $0: expected $2.50.
    dim, value, delta = found[f"total-{SPIKE}"]
    assert (dim, value) == ("project", "bursty")
    assert delta == pytest.approx(40.0 - 2.5)
    # The drop, on the same series: $0 against the median of $40, $0, $5 and $5.
    dim, value, delta = found[f"total-{DROP}"]
    assert (dim, value) == ("project", "bursty")
    assert delta == pytest.approx(-5.0)


def test_a_hole_is_no_reference_day_and_a_scope_without_rows_has_no_driver():
    holes = Coverage(holes={"prod": frozenset({date(2026, 9, 1)})})
    found = _drivers([_anomaly(SPIKE, "spike")], holes)
    # Without 09-01 the references are $5, $0, $0: expected $0.
    assert found[f"total-{SPIKE}"][2] == pytest.approx(40.0)
    empty = {**_anomaly(SPIKE, "spike", "project"), "anomaly_id": "none", "project": "gone"}
    assert _drivers([empty])["none"] == (None, None, None)
