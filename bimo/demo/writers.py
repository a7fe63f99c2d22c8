"""Writers for the line-oriented sources: Bimo gateway JSONL (`bimo.gateway.v1`) and CLI usage JSONL
(`bimo.cli.v1`). Each returns the number of valid records and the malformed lines it added."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from bimo.demo.company import (
    API_KEYS,
    DEVELOPERS,
    FEATURES,
    KEY_INDEX,
    MODELS,
    STREAMS,
    developer_email,
)
from bimo.demo.content import Texts
from bimo.demo.files import dumps, hexes, iso_ms, merge, uuids, write_lines
from bimo.demo.malformed import corrupt
from bimo.demo.traffic import ERRORS, Requests

Malformed = list[tuple[int, str]]  # (1-based line, reason kind)

# Per stream: key, team, project, environment, feature, model.
STREAM_INFO = [(API_KEYS[KEY_INDEX[k]], f, m) for k, f, m, _, _ in STREAMS]
# The developer tools' own cost estimate (USD per million tokens: in, out, cache read, cache write);
# deliberately not the catalogue's exact prices.
CLI_PRICES = {
    "claude-sonnet-4-5": (3.0, 15.0, 0.30, 3.75),
    "claude-3-5-haiku-latest": (0.8, 4.0, 0.08, 1.0),
    "gpt-5-codex": (1.25, 10.0, 0.125, 0.0),
    "o4-mini": (1.1, 4.4, 0.55, 0.0),
}
TOOLS = {"anthropic": "claude-code", "openai": "codex-cli"}


def end_user(team: str, feature: str, user: int) -> str | None:
    """Who the request was made for, when the app passes it on."""
    if team == "platform" and feature in ("chat", "code-review"):
        return f"emp{user % 240:03d}@acme-robotics.com"
    if team == "support" and feature in ("chat", "agent"):
        return f"cust_{user % 4000:05d}"
    if team == "growth" and feature == "chat":
        return f"lead_{user % 9000:05d}"
    return None


def write_gateway(path: Path, rows: Requests, rng: np.random.Generator, texts: Texts,
                  bad: list[str]) -> tuple[int, Malformed]:  # fmt: skip
    """One `bimo.gateway.v1` object per request, in start-time order."""
    n = len(rows)
    ids, stamps = uuids(rng, n), iso_ms(rows.ts_us)
    content = iter(texts.prod(rows.feature[rows.content]))
    regions = ("eu-west-1", "us-east-1")
    records = []
    cols = zip(rows.stream.tolist(), rows.model.tolist(), rows.input.tolist(), rows.cache_read.tolist(),
               rows.cache_write.tolist(), rows.output.tolist(), rows.reasoning.tolist(), rows.error.tolist(),
               rows.cache_hit.tolist(), rows.duration_ms.tolist(), rows.ttft_ms.tolist(),
               rows.content.tolist(), rows.attempt.tolist(), rows.user.tolist(), strict=True)  # fmt: skip
    for i, (s, m, inp, cr, cw, out, rsn, err, hit, dur, ttft, has, att, user) in enumerate(cols):
        key, feature, _ = STREAM_INFO[s]
        model = MODELS[m]
        status, etype, _ = ERRORS[err]
        rec: dict = {
            "schema": "bimo.gateway.v1",
            "request_id": ids[i],
            "timestamp": stamps[i],
            "duration_ms": dur,
        }
        if ttft >= 0:
            rec["ttft_ms"] = ttft
        rec |= {"provider": model.provider, "model": model.name}
        if not err:
            rec["response_model"] = model.snapshot
        rec["operation"] = "embeddings" if model.embedding else "chat"
        rec["status"] = "error" if err else "success"
        rec["http_status"] = status or 200
        if err:
            rec["error_type"] = etype
        rec["gateway_cache_hit"] = hit
        u: dict = {"input_tokens": inp}
        if cr or model.caching == "anthropic":
            u["cache_read_input_tokens"] = cr
        if cw or model.caching == "anthropic":
            u["cache_write_input_tokens"] = cw
        if not model.embedding:
            u["output_tokens"] = out
        if model.reasoning:
            u["reasoning_tokens"] = rsn
        rec["usage"] = u
        attribution = {"team": key.team, "project": key.project, "environment": key.environment,
                       "feature": feature, "api_key_id": key.key_id}  # fmt: skip
        who = end_user(key.team, feature, user)
        if who:
            attribution["user"] = who
        rec["attribution"] = attribution
        rec |= {"attempt": att, "stream": ttft >= 0, "gateway_region": regions[user % 2]}
        if has:
            system, prompt, response = next(content)
            if model.embedding:
                rec["request"] = {"input": [prompt]}
            else:
                msgs = ([{"role": "system", "content": system}] if system else []) + [
                    {"role": "user", "content": prompt}
                ]
                rec["request"] = {"messages": msgs, "max_tokens": 1024}
                if response and not err:
                    rec["response"] = {"content": response}
        records.append(rec)
    return _finish(path, records, bad, rng, ts_field="timestamp", id_field="request_id")


def _finish(path: Path, records: list[dict], bad: list[str], rng: np.random.Generator, *, ts_field: str,
            id_field: str, extra: list[tuple[int, bytes]] = ()) -> tuple[int, Malformed]:  # fmt: skip
    lines = [dumps(r) for r in records]
    for pos, line in sorted(extra, reverse=True):
        lines.insert(pos, line)
    template = (
        records[0] if records else {id_field: "", ts_field: "2025-01-01T00:00:00Z", "usage": {}}
    )
    broken = [corrupt(template, k, ts_field=ts_field, id_field=id_field, new_id=f"bad-{h}")
              for k, h in zip(bad, hexes(rng, len(bad), 12), strict=True)]  # fmt: skip
    lines, where = merge(lines, broken, rng)
    write_lines(path, lines)
    return len(records), list(zip(where, bad, strict=True))


def session_id(seed: int, day: str, dev: int, block: int) -> str:
    h = hashlib.sha256(f"{seed}:{day}:{dev}:{block}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def cli_cost(model: str, fresh: int, read: int, write: int, out: int) -> float:
    p_in, p_out, p_read, p_write = CLI_PRICES[model]
    return (fresh * p_in + read * p_read + write * p_write + out * p_out) / 1e6


def write_cli(path: Path, rows: Requests, rng: np.random.Generator, texts: Texts, bad: list[str],
              *, seed: int, day: str) -> tuple[int, Malformed, int]:  # fmt: skip
    """One `bimo.cli.v1` usage object per call, plus ~2% `summary` lines; returns the summaries too."""
    n = len(rows)
    offsets = np.array([DEVELOPERS[d][4] for d in rows.stream.tolist()], dtype=np.int64)
    stamps, msg = iso_ms(rows.ts_us, offsets), hexes(rng, n, 24)
    content = iter(texts.dev(int(rows.content.sum())))
    records = []
    cols = zip(rows.stream.tolist(), rows.model.tolist(), rows.input.tolist(), rows.cache_read.tolist(),
               rows.cache_write.tolist(), rows.output.tolist(), rows.reasoning.tolist(), rows.error.tolist(),
               rows.duration_ms.tolist(), rows.content.tolist(), rows.user.tolist(),
               rows.feature.tolist(), strict=True)  # fmt: skip
    for i, (d, m, inp, cr, cw, out, rsn, err, dur, has, block, f) in enumerate(cols):
        local, team, _, repo, _, _ = DEVELOPERS[d]
        model = MODELS[m]
        fresh = inp - cr - cw
        prefix = "msg_01" if model.provider == "anthropic" else "resp_"
        u = {"input_tokens": fresh, "cache_read_input_tokens": cr, "cache_creation_input_tokens": cw,
             "output_tokens": out}  # fmt: skip
        if model.reasoning:
            u["reasoning_tokens"] = rsn
        rec = {
            "type": "usage", "message_id": prefix + msg[i], "ts": stamps[i],
            "session_id": session_id(seed, day, d, block), "developer": developer_email(local),
            "tool": TOOLS[model.provider], "provider": model.provider, "model": model.name,
            "project": repo, "team": team, "feature": FEATURES[f], "usage": u,
            "cost_usd": cli_cost(model.name, fresh, cr, cw, out), "duration_ms": dur, "is_error": bool(err),
        }  # fmt: skip
        if has:
            rec["prompt"], rec["response"] = next(content)
        records.append(rec)
    summaries = []
    for i in np.flatnonzero(rng.random(n) < 0.02).tolist():
        r = records[i]
        line = {"type": "summary", "ts": r["ts"], "session_id": r["session_id"], "developer": r["developer"],
                "summary": f"Worked on {r['project']}: {r['feature']} session", "leafUuid": uuids(rng, 1)[0]}  # fmt: skip
        summaries.append((i + 1, dumps(line)))
    valid, broken = _finish(
        path, records, bad, rng, ts_field="ts", id_field="message_id", extra=summaries
    )
    return valid, broken, len(summaries)
