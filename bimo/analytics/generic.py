"""Bimo's anomaly detector and forecaster on any time series in a CSV file.

What `bimo detect-anomalies` and `bimo forecast` run: the CSV is validated, each series is put on
a regular time axis, and the warehouse pipeline's own functions score or forecast it
(`anomalies.expected_values` and `anomalies.bounds`, `forecast.forecast_long`).

- **Frequency**: `freq` (5min, 15m, h, 1h, D, 1d, …), else the most common step between
  consecutive timestamps. It must be at least a minute and divide a day.
- **Seasons**: daily data has a weekly season (7); finer data a daily one (5-min: 288, hourly:
  24), plus a weekly one for steps of an hour or more (hourly: 168). A season is modelled once a
  series spans three cycles of it.
- **Gaps**: every missing step is added. Detection treats it (and an empty value) as missing:
  imputed from the robust baseline for the fit, never scored, not written back. Forecasting
  interpolates it linearly (missing values at either end take the nearest one).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import polars as pl

from bimo.analytics.anomalies import AnomalyConfig, bounds, expected_values
from bimo.analytics.forecast import forecast_long

DAY = timedelta(days=1)
MISSING = ("", "na", "n/a", "nan", "null", "none")
RESULT_COLUMNS = ("expected", "lower", "upper", "score", "is_anomaly")
MAX_FILLED_SHARE = 0.8
_UNITS = {"s": 1, "S": 1, "m": 60, "min": 60, "T": 60, "h": 3600, "H": 3600, "d": 86400, "D": 86400}


class InputError(ValueError):
    """An input that cannot be used; the message says why and where."""


@dataclass(frozen=True)
class Cadence:
    """A sampling step and the season lengths (in steps) that follow from it."""

    step: timedelta

    @property
    def seasons(self) -> tuple[int, ...]:
        per_day = DAY // self.step
        if per_day == 1:
            return (7,)
        # A weekly season of finer steps (2,016 for 5-min) costs MSTL ~50x its daily one.
        return (per_day, 7 * per_day) if per_day <= 24 else (per_day,)

    @property
    def label(self) -> str:
        s = int(self.step.total_seconds())
        for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
            if s % size == 0:
                return f"{s // size}{unit}"
        return f"{s}s"

    @property
    def pandas_freq(self) -> str:
        return self.label.replace("d", "D")


def parse_freq(text: str) -> Cadence:
    """A cadence from a pandas/polars offset alias such as `5min`, `15m`, `h`, `1h`, `D`, `1d`."""
    m = re.fullmatch(r"\s*(\d*)\s*([A-Za-z]+)\s*", text)
    if not m or m[2] not in _UNITS or m[1] == "0":
        raise InputError(f"--freq {text!r} is not a frequency Bimo handles (e.g. 5min, 1h, 1d)")
    return _checked(timedelta(seconds=int(m[1] or 1) * _UNITS[m[2]]))


def _checked(step: timedelta) -> Cadence:
    if step < timedelta(minutes=1) or DAY % step:
        raise InputError(
            f"a step of {step} is not supported: Bimo handles steps from one minute to one day "
            "that divide a day (5min, 15min, 1h, 1d); aggregate the data first"
        )
    return Cadence(step)


def read_csv(
    path: str | Path, *, time_col: str, value_col: str, id_col: str | None
) -> pl.DataFrame:
    """Every cell as text, with a `_row` index; the named columns must exist."""
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"cannot read {path} as CSV: {_ragged(path) or exc}") from None
    wanted = [c for c in (time_col, value_col, id_col) if c]
    if absent := [c for c in wanted if c not in raw.columns]:
        hint = " (is it separated by commas?)" if len(raw.columns) == 1 else ""
        raise InputError(
            f"{path} has no column {', '.join(map(repr, absent))}; its columns are "
            + ", ".join(map(repr, raw.columns))
            + hint
        )
    if raw.is_empty():
        raise InputError(f"{path} has a header but no rows")
    return raw.with_row_index("_row")


def _ragged(path: str | Path) -> str | None:
    """Where a CSV first has a different number of fields than its header (polars won't say)."""
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            rows = csv.reader(f)
            width = len(next(rows, []))
            for line, row in enumerate(rows, start=2):
                if row and len(row) != width:
                    return f"line {line} has {len(row)} fields, the header {width}"
    except (OSError, csv.Error) as exc:
        return str(exc)
    return None


def parse(raw: pl.DataFrame, *, time_col: str, value_col: str, id_col: str | None) -> pl.DataFrame:
    """The long frame `_row, unique_id, ds, y` (ds naive UTC, y null where missing), validated."""
    value = pl.col(value_col).str.strip_chars()
    try:  # eagerly: in an expression polars cannot see a time zone to come and drops "…Z" values
        ds = raw[time_col].str.strip_chars().str.to_datetime(strict=False, time_unit="us")
    except pl.exceptions.PolarsError:  # no format could be inferred from the first value
        ds = pl.lit(None, pl.Datetime("us"))
    frame = raw.with_columns(ds=ds)
    if (tz := frame.schema["ds"].time_zone) is not None:
        frame = frame.with_columns(pl.col("ds").dt.convert_time_zone("UTC"))
    _first_bad(frame, pl.col("ds").is_null(), time_col, "not a timestamp (use ISO 8601, "
               "e.g. 2026-01-31 or 2026-01-31T14:05:00)")  # fmt: skip
    missing = value.is_null() | value.str.to_lowercase().is_in(MISSING)
    frame = frame.with_columns(
        ds=pl.col("ds").dt.replace_time_zone(None) if tz else pl.col("ds"),
        unique_id=pl.col(id_col).fill_null("") if id_col else pl.lit(""),
        y=pl.when(missing).then(None).otherwise(value.cast(pl.Float64, strict=False)),
    )
    bad = ~missing & (pl.col("y").is_null() | pl.col("y").is_infinite())
    _first_bad(frame, bad, value_col, "not a number (empty cells count as missing)")
    dup = frame.filter(pl.col("_row") > pl.col("_row").min().over("unique_id", "ds"))
    if not dup.is_empty():
        row = dup.row(0, named=True)
        first = frame.filter(
            (pl.col("unique_id") == row["unique_id"]) & (pl.col("ds") == row["ds"])
        )
        raise InputError(
            f"{_name(row['unique_id'])} has the timestamp {row[time_col]!r} twice (lines "
            f"{first['_row'][0] + 2} and {row['_row'] + 2}); aggregate duplicates first"
            + ("" if id_col else ", or pass --id-col if the file holds several series")
        )
    return frame.select("_row", "unique_id", "ds", "y").sort("unique_id", "ds")


def _first_bad(frame: pl.DataFrame, bad: pl.Expr, column: str, why: str) -> None:
    hit = frame.filter(bad)
    if not hit.is_empty():
        row = hit.row(0, named=True)
        value = row[column] if row[column] is not None else ""
        raise InputError(f"line {row['_row'] + 2}: column {column!r} has {value!r}, {why}")


def _name(uid: str) -> str:
    return f"series {uid!r}" if uid else "the series"


def infer_cadence(frame: pl.DataFrame) -> Cadence:
    """The most common step between consecutive timestamps of a series (ties: the shortest)."""
    steps = frame.select(step=pl.col("ds").diff().over("unique_id")).drop_nulls()
    if steps.is_empty():
        raise InputError("each series needs more than one timestamp to infer its frequency")
    counts = steps.group_by("step").len().sort(["len", "step"], descending=[True, False])
    return _checked(counts["step"][0])


def regular(frame: pl.DataFrame, cad: Cadence, *, min_points: int, task: str) -> pl.DataFrame:
    """Every series on its full time axis, first to last timestamp: added steps have a null
    `_row` and `y`. Raises when a series is too short, off the grid or mostly gaps."""
    us = int(cad.step / timedelta(microseconds=1))
    first = pl.col("ds").min().over("unique_id")
    off = frame.filter((pl.col("ds") - first).dt.total_microseconds() % us != 0)
    if not off.is_empty():
        r = off.row(0, named=True)
        raise InputError(
            f"line {r['_row'] + 2}: {r['ds']} is off the {cad.label} grid of "
            f"{_name(r['unique_id'])}; pass the right --freq or aggregate the data to "
            f"{cad.label} steps"
        )
    for uid, seen, rows, lo, hi in (
        frame.group_by("unique_id")
        .agg(pl.col("y").count(), pl.len(), pl.col("ds").min().alias("lo"), pl.col("ds").max())
        .sort("unique_id")
        .iter_rows()
    ):
        if seen < min_points:
            raise InputError(
                f"{_name(uid)} has {seen} values; {cad.label} data needs at least {min_points} "
                f"({min_points // cad.seasons[0]} cycles of its {cad.seasons[0]}-step season) "
                f"to {task}"
            )
        steps = (hi - lo) // cad.step + 1
        if steps > 1 and 1 - rows / steps > MAX_FILLED_SHARE:
            raise InputError(
                f"{_name(uid)}: {rows} rows span {steps} steps of {cad.label} ({lo} .. {hi}); "
                "more than 80 % would be gaps: check the timestamps or --freq"
            )
    grid = (
        frame.group_by("unique_id")
        .agg(pl.datetime_ranges(pl.col("ds").min(), pl.col("ds").max(), interval=cad.step))
        .explode("ds")
    )
    return grid.join(frame, on=["unique_id", "ds"], how="left").sort("unique_id", "ds")


def _used(n: int, cad: Cadence) -> tuple[int, ...]:
    return tuple(s for s in cad.seasons if n >= 3 * s)


def detect_frame(
    grid: pl.DataFrame, cad: Cadence, cfg: AnomalyConfig | None = None
) -> pl.DataFrame:
    """`_row`, `expected`, `lower`, `upper`, `score`, `is_anomaly` for every input row.

    Flagged: outside expected ± `z` scales and at least `min_relative_change` away from expected
    (the pipeline's rules without the dollar ones). Series that never go below zero keep
    expected and lower bound at zero or above, like costs.
    """
    cfg = cfg or AnomalyConfig()
    s0 = cad.seasons[0]
    if cad.step != DAY:  # the daily pipeline's window (15) and history (21) are 2 and 3 weeks
        cfg = replace(cfg, window=2 * s0 + 1, min_history_days=3 * s0)
        grid = grid.with_columns(phase=pl.int_range(pl.len()).over("unique_id") % s0)
    plans: dict[tuple[tuple[int, ...], bool], list[str]] = {}
    stats = grid.group_by("unique_id").agg(pl.len(), nonneg=(pl.col("y").min() >= 0))
    for uid, n, nonneg in stats.sort("unique_id").iter_rows():
        plans.setdefault((_used(n, cad), bool(nonneg)), []).append(uid)
    parts = []
    for (used, nonneg), ids in plans.items():
        sub = grid.filter(pl.col("unique_id").is_in(ids))
        scored = expected_values(sub, cfg, seasons=used or (s0,), freq=cad.pandas_freq)
        parts.append(bounds(scored, cfg.z, floor=0.0 if nonneg else None))
    delta = pl.col("delta").abs()
    outside = (pl.col("y") > pl.col("upper_bound")) | (pl.col("y") < pl.col("lower_bound"))
    material = delta >= cfg.min_relative_change * pl.col("expected").abs()
    return (
        pl.concat(parts)
        .filter(pl.col("_row").is_not_null())
        .select(
            "_row",
            "expected",
            pl.col("lower_bound").alias("lower"),
            pl.col("upper_bound").alias("upper"),
            "score",
            is_anomaly=(outside & material).fill_null(False),
        )
    )


def forecast_frame(
    grid: pl.DataFrame, cad: Cadence, *, horizon: int, levels: tuple[int, ...] = (80, 95)
) -> pl.DataFrame:
    """`unique_id`, `ds`, `model_name`, `forecast`, `lo_<level>`/`hi_<level>` per series, gaps
    interpolated first; series that never go below zero are never forecast below it."""
    filled = grid.with_columns(
        pl.col("y").interpolate().forward_fill().backward_fill().over("unique_id")
    )
    fc = forecast_long(
        filled.select("unique_id", "ds", "y"),
        horizon=horizon,
        seasons=cad.seasons,
        freq=cad.pandas_freq,
        levels=levels,
    )
    values = ["forecast", *[f"{b}_{lv}" for lv in levels for b in ("lo", "hi")]]
    nonneg = grid.group_by("unique_id").agg(nonneg=(pl.col("y").min() >= 0))
    return (
        fc.join(nonneg, on="unique_id", how="left")
        .with_columns(
            pl.when(pl.col("nonneg")).then(pl.col(c).clip(lower_bound=0.0)).otherwise(pl.col(c))
            for c in values
        )
        .drop("nonneg")
        .sort("unique_id", "ds")
    )


def _load(
    path: str | Path, time_col: str, value_col: str, id_col: str | None, freq: str | None, *,
    min_cycles: int, task: str,
) -> tuple[pl.DataFrame, pl.DataFrame, Cadence]:  # fmt: skip
    raw = read_csv(path, time_col=time_col, value_col=value_col, id_col=id_col)
    frame = parse(raw, time_col=time_col, value_col=value_col, id_col=id_col)
    cad = parse_freq(freq) if freq else infer_cadence(frame)
    grid = regular(frame, cad, min_points=min_cycles * cad.seasons[0], task=task)
    return raw, grid, cad


def _write(frame: pl.DataFrame, path: str | Path) -> None:
    try:
        frame.write_csv(path)
    except OSError as exc:
        reason = exc.strerror or str(exc).removesuffix(f": {path}")
        raise InputError(f"cannot write {path}: {reason}") from None


def detect_csv(
    path: str | Path,
    output: str | Path,
    *,
    time_col: str,
    value_col: str,
    id_col: str | None = None,
    freq: str | None = None,
    cfg: AnomalyConfig | None = None,
) -> str:
    """Write the CSV's rows with `expected, lower, upper, score, is_anomaly`; returns a summary."""
    raw, grid, cad = _load(path, time_col, value_col, id_col, freq, min_cycles=2, task="score it")
    if clash := [c for c in RESULT_COLUMNS if c in raw.columns]:
        raise InputError(f"{path} already has column {', '.join(map(repr, clash))}; rename it")
    scored = detect_frame(grid, cad, cfg)
    out = raw.join(scored, on="_row", how="left").sort("_row").drop("_row")
    _write(out, output)
    n_ids, added = grid["unique_id"].n_unique(), grid["_row"].null_count()
    empty = grid["y"].null_count() - added
    return (
        f"{out['is_anomaly'].sum():,} anomalies in {out.height:,} rows of {n_ids:,} series "
        f"({cad.label} steps, seasons {_seasons(grid, cad)}; {added:,} missing steps and "
        f"{empty:,} empty values left unscored) → {output}"
    )


def forecast_csv(
    path: str | Path,
    output: str | Path,
    *,
    time_col: str,
    value_col: str,
    horizon: int,
    levels: list[int] | tuple[int, ...] = (80, 95),
    id_col: str | None = None,
    freq: str | None = None,
) -> str:
    """Write `ds, forecast, lo_<level>, hi_<level>…` (after the id column when there is one)."""
    if horizon < 1:
        raise InputError("--horizon must be at least 1")
    if bad := [lv for lv in levels if not 0 < lv < 100]:
        raise InputError(f"--level must be between 1 and 99, not {bad[0]}")
    levels = tuple(sorted(set(levels)))
    raw, grid, cad = _load(
        path, time_col, value_col, id_col, freq, min_cycles=1, task="forecast it"
    )
    if id_col in ("ds", "forecast") or (id_col or "").startswith(("lo_", "hi_")):
        raise InputError(f"--id-col {id_col!r} collides with an output column; rename it")
    fc = forecast_frame(grid, cad, horizon=horizon, levels=levels)
    models = ", ".join(
        f"{m} ×{k}"
        for m, k in fc.group_by("model_name")
        .agg(pl.col("unique_id").n_unique())
        .sort("model_name")
        .iter_rows()
    )
    dates_only = raw[time_col].str.strip_chars().str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    zoned = raw[time_col].str.strip_chars().str.contains(r"(Z|[+-]\d\d:?\d\d)$").any()
    stamp = "%Y-%m-%d" if dates_only else "%Y-%m-%dT%H:%M:%S" + ("Z" if zoned else "")
    out = fc.select(
        *([pl.col("unique_id").alias(id_col)] if id_col else []),
        pl.col("ds").dt.strftime(stamp),
        "forecast",
        *[f"{b}_{lv}" for lv in levels for b in ("lo", "hi")],
    )
    _write(out, output)
    n_ids = grid["unique_id"].n_unique()
    return f"{horizon} steps of {cad.label} for {n_ids:,} series ({models}) → {output}"


def _seasons(grid: pl.DataFrame, cad: Cadence) -> str:
    used = _used(grid.group_by("unique_id").len()["len"].max(), cad)
    return ", ".join(map(str, used)) or "none (too short: robust baseline only)"
