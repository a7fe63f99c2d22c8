"""Readers and helpers shared by the generator tests."""

from __future__ import annotations

import functools
import gzip
import json
import re
import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from genai_prices import Usage, calc_price

from bimo.demo import GenerateResult

END = date(2025, 6, 30)


ARGS = {"days": 35, "requests_per_day": 200, "end": END}


KNOWN = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("openai", "o3-mini"),
    ("openai", "text-embedding-3-small"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-3-5-haiku-latest"),
    ("google", "gemini-2.5-flash"),
    ("google", "gemini-2.5-pro"),
]


UNKNOWN = [("anthropic", "claude-orion-preview"), ("self_hosted", "acme-llama-70b-ft")]


OTEL_PROVIDERS = {"gcp.gemini": "google", "gemini": "google"}


NAIVE_TS = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")


def read_lines(path: Path) -> list[str]:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return raw.decode().splitlines()


def files(demo: GenerateResult, folder: str) -> list[Path]:
    return sorted((demo.out_dir / folder).iterdir())


def rel(demo: GenerateResult, path: Path) -> str:
    return path.relative_to(demo.out_dir).as_posix()


def otel_attrs(items: list[dict]) -> dict[str, object]:
    return {a["key"]: next(iter(a["value"].values())) for a in items}


def parsed(demo: GenerateResult, folder: str, bad: set[tuple[str, int]]) -> Iterator[dict]:
    """The records in a folder's files (JSON Lines, gzipped or not, or a JSON array), minus the
    labelled malformed ones."""
    for path in files(demo, folder):
        is_array = path.suffix == ".json"
        items = json.loads(path.read_text()) if is_array else read_lines(path)
        for n, item in enumerate(items, 1):
            if (rel(demo, path), n) not in bad:
                yield item if is_array else json.loads(item)


def request(source: str, meta: tuple, tokens: tuple, flags: tuple) -> dict:
    """A normalised request. meta = (id, day, provider, model); tokens = (input incl. cache,
    cache read, cache write, output); flags = (error, free of charge, carries content)."""
    rid, day, provider, model = meta
    row = dict(zip(("input", "cache_read", "cache_write", "output"), tokens, strict=True))
    row |= dict(zip(("error", "free", "content"), flags, strict=True))
    provider = OTEL_PROVIDERS.get(provider, provider)
    tag = "dev" if source == "cli-log" else "prod"
    return {
        "source": source,
        "tag": tag,
        "id": rid,
        "day": day,
        "provider": provider,
        "model": model,
        **row,
    }


def load_gateway(demo: GenerateResult, bad: set[tuple[str, int]]) -> Iterator[dict]:
    for r in parsed(demo, "bimo-gateway", bad):
        u = r["usage"]
        meta = (r["request_id"], r["timestamp"][:10], r["provider"], r["model"])
        cache = (u.get("cache_read_input_tokens", 0), u.get("cache_write_input_tokens", 0))
        tokens = (u["input_tokens"], *cache, u.get("output_tokens", 0))
        flags = (r["status"] == "error", r["gateway_cache_hit"], "request" in r)
        yield request("bimo-gateway", meta, tokens, flags)


def load_litellm(demo: GenerateResult, bad: set[tuple[str, int]]) -> Iterator[dict]:
    for r in parsed(demo, "litellm", bad):
        u = json.loads(r["metadata"])["usage_object"]
        meta = (r["request_id"], r["startTime"][:10], r["custom_llm_provider"], r["model"])
        cache = (
            u.get("prompt_tokens_details", {}).get("cached_tokens", 0),
            u.get("cache_creation_input_tokens", 0),
        )
        tokens = (r["prompt_tokens"], *cache, r["completion_tokens"])
        flags = (r["status"] == "failure", r["cache_hit"] == "True", bool(r["messages"]))
        yield request("litellm", meta, tokens, flags)


def spans(demo: GenerateResult) -> Iterator[tuple[dict, dict]]:
    """(span, its attributes) for every span of every export request."""
    for request_ in parsed(demo, "otel-genai", set()):
        for rs in request_["resourceSpans"]:
            for span in (s for ss in rs["scopeSpans"] for s in ss["spans"]):
                yield span, otel_attrs(span["attributes"])


def load_otel(demo: GenerateResult) -> Iterator[dict]:
    for span, a in spans(demo):
        if not any(k.startswith("gen_ai.") for k in a):
            continue
        t = {k[len("gen_ai.usage.") :]: int(v) for k, v in a.items() if "gen_ai.usage." in k}
        cache = (t.get("cache_read.input_tokens", 0), t.get("cache_creation.input_tokens", 0))
        tokens = (
            t.get("input_tokens", t.get("prompt_tokens", 0)),
            *cache,
            t.get("output_tokens", t.get("completion_tokens", 0)),
        )
        rid = a.get("gen_ai.response.id") or f"{span['traceId']}:{span['spanId']}"
        day = datetime.fromtimestamp(int(span["startTimeUnixNano"]) / 1e9, UTC).date()
        provider = a.get("gen_ai.provider.name") or a["gen_ai.system"]
        meta = (rid, day.isoformat(), provider, a["gen_ai.request.model"])
        flags = (span["status"].get("code") == 2, False, "gen_ai.input.messages" in a)
        yield request("otel-genai", meta, tokens, flags)


def load_cli(demo: GenerateResult, bad: set[tuple[str, int]]) -> Iterator[dict]:
    for r in parsed(demo, "cli-log", bad):
        if r["type"] != "usage":
            continue
        u = r["usage"]
        cache = (u["cache_read_input_tokens"], u["cache_creation_input_tokens"])
        tokens = (u["input_tokens"] + sum(cache), *cache, u["output_tokens"])
        day = datetime.fromisoformat(r["ts"]).astimezone(UTC).date().isoformat()
        meta = (r["message_id"], day, r["provider"], r["model"])
        yield request("cli-log", meta, tokens, (r["is_error"], False, "prompt" in r))


def load(demo: GenerateResult, bad: set[tuple[str, int]]) -> list[dict]:
    """A tiny reference loader: one normalised dict per valid request in any of the formats."""
    loaded = (
        load_gateway(demo, bad),
        load_litellm(demo, bad),
        load_otel(demo),
        load_cli(demo, bad),
    )
    return [r for rows in loaded for r in rows]


@functools.cache
def genai_cost(provider: str, model: str, tokens: tuple[int, int, int, int]) -> float:
    """USD from genai-prices, an independent price source (input includes cached tokens)."""
    names = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")
    usage = Usage(**dict(zip(names, tokens, strict=True)))
    return float(calc_price(usage, model_ref=model, provider_id=provider).total_price)


def daily(records: list[dict], keep, value=lambda rows: sum(r["cost"] for r in rows)) -> dict:
    by_day = defaultdict(list)
    for r in records:
        if keep(r):
            by_day[r["day"]].append(r)
    return {d: value(rows) for d, rows in by_day.items()}


def ratio_to_normal(series: dict[str, float], anomaly: dict, labels: dict) -> list[float]:
    """Each anomaly day's value over the median of normal weekdays."""
    busy = set()
    for a in labels["anomalies"]:
        d = date.fromisoformat(a["start_date"])
        while d <= date.fromisoformat(a["end_date"]):
            busy.add(d.isoformat())
            d += timedelta(days=1)
    normal = [v for d, v in series.items() if d not in busy and date.fromisoformat(d).weekday() < 5]
    days = [d for d in series if anomaly["start_date"] <= d <= anomaly["end_date"]]
    return [series[d] / statistics.median(normal) for d in days]


def by_id(labels: dict, anomaly_id: str) -> dict:
    return next(a for a in labels["anomalies"] if a["id"] == anomaly_id)
