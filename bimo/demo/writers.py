"""Writers for the line-oriented sources: Bimo gateway JSONL (`bimo.gateway.v1`) and CLI usage
JSONL (`bimo.cli.v1`). Each returns the valid records written and the malformed lines it added."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from bimo.demo.calls import ERRORS, Requests
from bimo.demo.company import (
    API_KEYS,
    DEVELOPERS,
    FEATURES,
    KEY_INDEX,
    MODELS,
    STREAMS,
    Model,
    developer_email,
)
from bimo.demo.content import Texts
from bimo.demo.files import dumps, hexes, iso_ms, merge, uuids, write_lines
from bimo.demo.malformed import corrupt

Malformed = list[tuple[int, str]]  # (1-based line, reason kind)

# Per stream: its API key, feature and model name.
STREAM_INFO = [(API_KEYS[KEY_INDEX[k]], f, m) for k, f, m, _, _ in STREAMS]
# The developer tools' own estimate, USD per million tokens (in, out, cache read, cache write).
# Deliberately not the catalogue's exact prices: `cost_usd` is only ever a tool's estimate.
CLI_PRICES = {
    "claude-sonnet-4-5": (3.0, 15.0, 0.30, 3.75),
    "claude-3-5-haiku-latest": (0.8, 4.0, 0.08, 1.0),
    "gpt-5-codex": (1.25, 10.0, 0.125, 0.0),
    "o4-mini": (1.1, 4.4, 0.55, 0.0),
}
TOOLS = {"anthropic": "claude-code", "openai": "codex-cli"}
GATEWAY_COLUMNS = (
    "stream model input cache_read cache_write output reasoning error cache_hit duration_ms "
    "ttft_ms content attempt user"
)


def end_user(team: str, feature: str, user: int) -> str | None:
    """Who the request was made for, when the app passes it on."""
    if team == "platform" and feature in ("chat", "code-review"):
        return f"emp{user % 240:03d}@acme-robotics.com"
    if team == "support" and feature in ("chat", "agent"):
        return f"cust_{user % 4000:05d}"
    if team == "growth" and feature == "chat":
        return f"lead_{user % 9000:05d}"
    return None


def chat_messages(system: str | None, prompt: str) -> list[dict[str, str]]:
    head = [{"role": "system", "content": system}] if system else []
    return [*head, {"role": "user", "content": prompt}]


def _gateway_usage(model: Model, inp: int, cr: int, cw: int, out: int, rsn: int) -> dict:
    usage: dict = {"input_tokens": inp}
    if cr or model.caching == "anthropic":
        usage["cache_read_input_tokens"] = cr
    if cw or model.caching == "anthropic":
        usage["cache_write_input_tokens"] = cw
    if not model.embedding:
        usage["output_tokens"] = out
    if model.reasoning:
        usage["reasoning_tokens"] = rsn
    return usage


def write_gateway(
    path: Path, rows: Requests, rng: np.random.Generator, texts: Texts, bad: list[str]
) -> tuple[int, Malformed]:
    """One `bimo.gateway.v1` object per request, in start-time order."""
    ids, stamps = uuids(rng, len(rows)), iso_ms(rows.ts_us)
    content = iter(texts.prod(rows.feature[rows.content]))
    records = []
    for i, (s, m, inp, cr, cw, out, rsn, err, hit, dur, ttft, has, att, user) in enumerate(
        rows.rows(GATEWAY_COLUMNS)
    ):
        key, feature, _ = STREAM_INFO[s]
        model = MODELS[m]
        rec: dict = {"schema": "bimo.gateway.v1", "request_id": ids[i], "timestamp": stamps[i]}
        rec["duration_ms"] = dur
        if ttft >= 0:
            rec["ttft_ms"] = ttft
        rec |= {"provider": model.provider, "model": model.name}
        if not err:
            rec["response_model"] = model.snapshot
        rec["operation"] = "embeddings" if model.embedding else "chat"
        rec["status"] = "error" if err else "success"
        rec["http_status"] = ERRORS[err][0] or 200
        if err:
            rec["error_type"] = ERRORS[err][1]
        rec["gateway_cache_hit"] = hit
        rec["usage"] = _gateway_usage(model, inp, cr, cw, out, rsn)
        attribution = {
            "team": key.team,
            "project": key.project,
            "environment": key.environment,
            "feature": feature,
            "api_key_id": key.key_id,
        }
        if who := end_user(key.team, feature, user):
            attribution["user"] = who
        rec["attribution"] = attribution
        region = ("eu-west-1", "us-east-1")[user % 2]
        rec |= {"attempt": att, "stream": ttft >= 0, "gateway_region": region}
        if has:
            system, prompt, response = next(content)
            if model.embedding:
                rec["request"] = {"input": [prompt]}
            else:
                rec["request"] = {"messages": chat_messages(system, prompt), "max_tokens": 1024}
                if response and not err:
                    rec["response"] = {"content": response}
        records.append(rec)
    return _finish(path, records, bad, rng, ts_field="timestamp", id_field="request_id")


def _finish(
    path: Path,
    records: list[dict],
    bad: list[str],
    rng: np.random.Generator,
    *,
    ts_field: str,
    id_field: str,
    extra: list[tuple[int, bytes]] | None = None,
) -> tuple[int, Malformed]:
    """Serialise, add `extra` lines (position, line) and the broken records, write the file."""
    lines = [dumps(r) for r in records]
    for pos, line in sorted(extra or [], reverse=True):
        lines.insert(pos, line)
    template = records[0] if records else {id_field: "", ts_field: "2025-01-01T00:00:00Z"}
    broken = [
        corrupt(template, kind, ts_field=ts_field, id_field=id_field, new_id=f"bad-{h}")
        for kind, h in zip(bad, hexes(rng, len(bad), 12), strict=True)
    ]
    lines, where = merge(lines, broken, rng)
    write_lines(path, lines)
    return len(records), list(zip(where, bad, strict=True))


def session_id(seed: int, day: str, dev: int, block: int) -> str:
    h = hashlib.sha256(f"{seed}:{day}:{dev}:{block}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def cli_cost(model: str, fresh: int, read: int, write: int, out: int) -> float:
    p_in, p_out, p_read, p_write = CLI_PRICES[model]
    return (fresh * p_in + read * p_read + write * p_write + out * p_out) / 1e6


def write_cli(
    path: Path,
    rows: Requests,
    rng: np.random.Generator,
    texts: Texts,
    bad: list[str],
    *,
    seed: int,
    day: str,
) -> tuple[int, Malformed, int]:
    """One `bimo.cli.v1` usage object per call plus ~2% `summary` lines (also counted)."""
    offsets = np.array([DEVELOPERS[d][4] for d in rows.stream.tolist()], dtype=np.int64)
    stamps, msg = iso_ms(rows.ts_us, offsets), hexes(rng, len(rows), 24)
    content = iter(texts.dev(int(rows.content.sum())))
    records = []
    columns = (
        "stream model input cache_read cache_write output reasoning error duration_ms content "
        "user feature"
    )
    for i, (d, m, inp, cr, cw, out, rsn, err, dur, has, block, f) in enumerate(rows.rows(columns)):
        local, team, _, repo, _, _ = DEVELOPERS[d]
        model = MODELS[m]
        fresh = inp - cr - cw
        usage = {
            "input_tokens": fresh,
            "cache_read_input_tokens": cr,
            "cache_creation_input_tokens": cw,
            "output_tokens": out,
        }
        if model.reasoning:
            usage["reasoning_tokens"] = rsn
        rec = {
            "type": "usage",
            "message_id": ("msg_01" if model.provider == "anthropic" else "resp_") + msg[i],
            "ts": stamps[i],
            "session_id": session_id(seed, day, d, block),
            "developer": developer_email(local),
            "tool": TOOLS[model.provider],
            "provider": model.provider,
            "model": model.name,
            "project": repo,
            "team": team,
            "feature": FEATURES[f],
            "usage": usage,
            "cost_usd": cli_cost(model.name, fresh, cr, cw, out),
            "duration_ms": dur,
            "is_error": bool(err),
        }
        if has:
            rec["prompt"], rec["response"] = next(content)
        records.append(rec)
    summaries = []
    for i in np.flatnonzero(rng.random(len(rows)) < 0.02).tolist():
        r = records[i]
        line = {
            "type": "summary",
            "ts": r["ts"],
            "session_id": r["session_id"],
            "developer": r["developer"],
            "summary": f"{r['feature']} session in {r['project']}",
            "leafUuid": uuids(rng, 1)[0],
        }
        summaries.append((i + 1, dumps(line)))
    valid, broken = _finish(
        path, records, bad, rng, ts_field="ts", id_field="message_id", extra=summaries
    )
    return valid, broken, len(summaries)
