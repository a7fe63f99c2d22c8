"""`bimo detect-anomalies` and `bimo forecast` on CSVs generated here: injected spikes are found
at 5-minute, hourly and daily steps, forecasts continue the input's cadence with nested
intervals, gaps are missing rather than zero, and malformed files exit 2 with a clear message."""

import itertools
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bimo.analytics.generic import InputError, detect_csv, forecast_csv, parse_freq

BIMO = str(Path(sys.executable).parent / "bimo")
START = datetime(2026, 3, 2)  # a Monday
DAY = timedelta(days=1)
STEPS = {"5min": timedelta(minutes=5), "1h": timedelta(hours=1), "1d": DAY}
# One week of 5-minute data (a daily cycle), five weeks of hourly data (daily and weekly
# cycles), four months of daily data (weekdays and weekends).
LENGTHS = {"5min": 288 * 7, "1h": 24 * 35, "1d": 120}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BIMO, *args], capture_output=True, text=True)


def traffic(freq: str, *, seed: int = 0, spikes: int = 10, scale: float = 100.0) -> pl.DataFrame:
    """Seasonal traffic with a slow trend, 5 % noise and `spikes` points multiplied by 2–4."""
    step, n = STEPS[freq], LENGTHS[freq]
    rng = np.random.default_rng(seed)
    ts = [START + i * step for i in range(n)]
    hours = np.array([t.hour + t.minute / 60 for t in ts])
    daily = 1 + 0.6 * np.sin(2 * np.pi * (hours - 8) / 24) if step < DAY else 1.0
    weekly = np.where([t.weekday() < 5 for t in ts], 1.0, 0.5) if freq != "5min" else 1.0
    y = scale * daily * weekly * (1 + 0.1 * np.arange(n) / n) * (1 + rng.normal(0, 0.05, n))
    at = rng.choice(np.arange(5, n - 5), spikes, replace=False)
    y[at] *= rng.uniform(2, 4, spikes)
    stamps = {
        "5min": [t.isoformat() + "Z" for t in ts],  # UTC with a zone designator
        "1h": [t.isoformat(sep=" ") for t in ts],
        "1d": [t.date().isoformat() for t in ts],
    }[freq]
    return pl.DataFrame({"ts": stamps, "requests": y, "spike": np.isin(np.arange(n), at)})


def precision_recall(out: pl.DataFrame) -> tuple[float, float]:
    tp = (out["is_anomaly"] & out["spike"]).sum()
    return tp / max(out["is_anomaly"].sum(), 1), tp / out["spike"].sum()


@pytest.mark.parametrize("freq", STEPS)
def test_injected_spikes_are_flagged_with_few_false_positives(tmp_path, freq):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    frame = traffic(freq)
    frame.write_csv(src)
    summary = detect_csv(src, dst, time_col="ts", value_col="requests")
    out = pl.read_csv(dst)
    assert out.columns == [*frame.columns, "expected", "lower", "upper", "score", "is_anomaly"]
    assert out["ts"].to_list() == frame["ts"].to_list()
    precision, recall = precision_recall(out)
    assert precision >= 0.8 and recall >= 0.8, (precision, recall, summary)
    assert ((out["lower"] <= out["expected"]) & (out["expected"] <= out["upper"])).all()
    assert f"{freq} steps" in summary


def test_gaps_and_empty_values_are_missing_not_zero(tmp_path):
    frame = traffic("1h", seed=3).with_row_index()
    hole = pl.col("index").is_between(400, 405)  # six hours with no rows at all
    empty = pl.col("index").is_in([100, 250, 600])  # rows whose value cell is empty
    kept = frame.filter(~hole).with_columns(
        requests=pl.when(empty).then(None).otherwise(pl.col("requests").cast(pl.String))
    )
    kept.drop("index").write_csv(tmp_path / "in.csv")
    proc = run("detect-anomalies", str(tmp_path / "in.csv"), "--time-col", "ts",
               "--value-col", "requests", "--output", str(tmp_path / "out.csv"))  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "6 missing steps and 3 empty values left unscored" in " ".join(proc.stdout.split())
    out = pl.read_csv(tmp_path / "out.csv")
    assert out["ts"].to_list() == kept["ts"].to_list()  # every input row, no added ones
    blank = out.filter(pl.col("requests").is_null())
    assert blank.height == 3 and blank["score"].null_count() == 3
    assert not blank["is_anomaly"].any() and blank["expected"].is_not_null().all()
    # Around the hole the expectation stays at the usual level: the gap is not read as zeros.
    near = out.filter(pl.col("ts").is_in(frame.filter(pl.col("index").is_in([398, 407]))["ts"]))
    assert (near["expected"] > 0.5 * near["requests"]).all()
    precision, recall = precision_recall(out.filter(pl.col("requests").is_not_null()))
    assert precision >= 0.8 and recall >= 0.8


def test_several_series_in_one_file(tmp_path):
    a, b = traffic("1d", seed=1, spikes=5), traffic("1d", seed=2, spikes=5, scale=3.0)
    both = pl.concat([a.with_columns(team=pl.lit("a")), b.with_columns(team=pl.lit("b"))])
    both.sample(fraction=1.0, shuffle=True, seed=0).write_csv(tmp_path / "in.csv")
    detect_csv(tmp_path / "in.csv", tmp_path / "out.csv", time_col="ts", value_col="requests",
               id_col="team")  # fmt: skip
    out = pl.read_csv(tmp_path / "out.csv")
    for team in ("a", "b"):
        precision, recall = precision_recall(out.filter(pl.col("team") == team))
        assert precision >= 0.8 and recall >= 0.8, team
    forecast_csv(tmp_path / "in.csv", tmp_path / "fc.csv", time_col="ts", value_col="requests",
                 id_col="team", horizon=14)  # fmt: skip
    fc = pl.read_csv(tmp_path / "fc.csv")
    assert fc.columns == ["team", "ds", "forecast", "lo_80", "hi_80", "lo_95", "hi_95"]
    assert fc.group_by("team").len().sort("team")["len"].to_list() == [14, 14]
    means = dict(fc.group_by("team").agg(pl.col("forecast").mean()).iter_rows())
    assert 20 < means["a"] / means["b"] < 50  # each series keeps its own level


def _nested(fc: pl.DataFrame, levels: list[int]) -> bool:
    cols = [*[f"lo_{lv}" for lv in reversed(levels)], "forecast", *[f"hi_{lv}" for lv in levels]]
    return all((fc[lo] <= fc[hi]).all() for lo, hi in itertools.pairwise(cols))


@pytest.mark.parametrize("freq", STEPS)
def test_forecast_continues_the_cadence_with_nested_intervals(tmp_path, freq):
    frame = traffic(freq, spikes=0)
    frame.write_csv(tmp_path / "in.csv")
    forecast_csv(tmp_path / "in.csv", tmp_path / "fc.csv", time_col="ts", value_col="requests",
                 horizon=36)  # fmt: skip
    fc = pl.read_csv(tmp_path / "fc.csv", infer_schema=False).with_columns(
        pl.exclude("ds").cast(pl.Float64)
    )
    assert fc.columns == ["ds", "forecast", "lo_80", "hi_80", "lo_95", "hi_95"]
    assert fc.height == 36 and _nested(fc, [80, 95]) and (fc["lo_95"] >= 0).all()
    last = START + (LENGTHS[freq] - 1) * STEPS[freq]
    expected = [last + (k + 1) * STEPS[freq] for k in range(36)]
    shown = {
        "5min": [t.isoformat() + "Z" for t in expected],
        "1h": [t.isoformat() for t in expected],
        "1d": [t.date().isoformat() for t in expected],
    }[freq]
    assert fc["ds"].to_list() == shown
    # Close to the same hours of the last season: the cycle is carried forward.
    season = {"5min": 288, "1h": 168, "1d": 7}[freq]
    reference = np.resize(frame["requests"].tail(season).to_numpy(), 36)
    assert np.abs(fc["forecast"].to_numpy() / reference - 1).mean() < 0.1


def test_forecast_cli_orders_any_levels(tmp_path):
    traffic("1h", spikes=0).write_csv(tmp_path / "in.csv")
    proc = run("forecast", str(tmp_path / "in.csv"), "--time-col", "ts", "--value-col",
               "requests", "--horizon", "24", "--level", "95", "50", "80", "--output",
               str(tmp_path / "fc.csv"))  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "24 steps of 1h" in proc.stdout and "MSTL" in proc.stdout
    fc = pl.read_csv(tmp_path / "fc.csv")
    assert fc.columns[2:] == ["lo_50", "hi_50", "lo_80", "hi_80", "lo_95", "hi_95"]
    assert fc.height == 24 and _nested(fc, [50, 80, 95])


@pytest.mark.parametrize(
    ("alias", "step"),
    [("5min", "5min"), ("5m", "5min"), ("5T", "5min"), ("h", "1h"), ("1h", "1h"),
     ("60min", "1h"), ("D", "1d"), ("1d", "1d"), ("24h", "1d")],
)  # fmt: skip
def test_frequency_aliases(alias, step):
    assert parse_freq(alias).label == step


@pytest.mark.parametrize("alias", ["1w", "7d", "30s", "1mo", "0h", "7min", "fast"])
def test_unsupported_frequencies_are_refused(alias):
    with pytest.raises(InputError):
        parse_freq(alias)


def test_seasons_follow_the_frequency():
    assert parse_freq("5min").seasons == (288,)
    assert parse_freq("1h").seasons == (24, 168)
    assert parse_freq("1d").seasons == (7,)


def _malformed(tmp_path: Path, case: str) -> list[str]:
    """Write one malformed CSV; returns the CLI arguments that read it."""
    frame = traffic("1h", spikes=0).with_columns(pl.col("requests").round(3).cast(pl.String))
    args = ["--time-col", "ts", "--value-col", "requests"]
    if case == "missing column":
        args = ["--time-col", "timestamp", "--value-col", "requests"]
    elif case == "non-numeric value":
        frame = frame.with_columns(
            requests=pl.when(pl.int_range(pl.len()) == 41)
            .then(pl.lit("12,5"))
            .otherwise("requests")
        )
    elif case == "unparseable timestamp":
        frame = frame.with_columns(
            ts=pl.when(pl.int_range(pl.len()) == 9).then(pl.lit("yesterday")).otherwise("ts")
        )
    elif case == "duplicate timestamp":
        frame = pl.concat([frame.with_columns(svc=pl.lit(s)) for s in ("api", "web")])
        frame = pl.concat([frame, frame.slice(900, 1)])  # web's 61st hour again, at line 1682
        args += ["--id-col", "svc"]
    elif case == "too few points":
        frame = frame.head(30)
    elif case == "ragged row":
        (tmp_path / "in.csv").write_text("ts,requests\n2026-01-01,1\n2026-01-02,2,3\n")
        return [str(tmp_path / "in.csv"), *args]
    frame.write_csv(tmp_path / "in.csv")
    return [str(tmp_path / "in.csv"), *args]


MALFORMED = {
    "missing column": "no column 'timestamp'; its columns are 'ts', 'requests', 'spike'",
    "non-numeric value": "line 43: column 'requests' has '12,5', not a number",
    "unparseable timestamp": "line 11: column 'ts' has 'yesterday', not a timestamp",
    "duplicate timestamp": "series 'web' has the timestamp '2026-03-04 12:00:00' twice "
    "(lines 902 and 1682)",
    "too few points": "has 30 values; 1h data needs at least 48",
    "ragged row": "line 3 has 3 fields, the header 2",
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_csv_exits_2_with_a_clear_message(tmp_path, case):
    proc = run("detect-anomalies", *_malformed(tmp_path, case), "--output",
               str(tmp_path / "out.csv"))  # fmt: skip
    out = " ".join(proc.stdout.split())  # the console wraps long lines
    assert proc.returncode == 2, out + proc.stderr
    assert MALFORMED[case] in out and "Traceback" not in proc.stderr + out
    assert not (tmp_path / "out.csv").exists()


def test_forecast_shares_the_checks(tmp_path):
    proc = run("forecast", *_malformed(tmp_path, "unparseable timestamp"), "--horizon", "5",
               "--output", str(tmp_path / "fc.csv"))  # fmt: skip
    assert proc.returncode == 2 and "'yesterday', not a timestamp" in proc.stdout
    (tmp_path / "short.csv").write_text("ts,v\n2026-01-01,1\n2026-01-02,2\n2026-01-03,3\n")
    with pytest.raises(InputError, match="1d data needs at least 7"):
        forecast_csv(tmp_path / "short.csv", tmp_path / "fc.csv", time_col="ts", value_col="v",
                     horizon=3)  # fmt: skip
