"""LiteLLM proxy spend logs: a JSON array of `LiteLLM_SpendLogs` rows as the proxy exports them."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import numpy as np
import orjson

from bimo.demo.calls import ERRORS, Requests
from bimo.demo.company import ApiKey, Catalogue, Model
from bimo.demo.content import Texts
from bimo.demo.files import hexes, merge, naive_us, uuids
from bimo.demo.writers import MODELS, STREAM_INFO, Malformed, chat_messages, end_user

ERROR_TEXT = {
    429: "Rate limit reached for requests",
    500: "The server had an error processing your request",
    503: "The model is overloaded, try again later",
}
COLUMNS = (
    "stream model input cache_read cache_write output reasoning error cache_hit duration_ms "
    "content user"
)


def team_uuid(team: str) -> str:
    h = hashlib.sha256(f"litellm-team:{team}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _json(obj: object) -> str:
    return orjson.dumps(obj).decode()


def _usage(model: Model, inp: int, cr: int, cw: int, out: int, rsn: int) -> dict:
    """`metadata.usage_object`: OpenAI-style; prompt_tokens include cache reads and writes."""
    usage: dict = {"completion_tokens": out, "prompt_tokens": inp, "total_tokens": inp + out}
    if not model.embedding:
        usage["completion_tokens_details"] = {"reasoning_tokens": rsn}
        usage["prompt_tokens_details"] = {"cached_tokens": cr, "audio_tokens": None}
    if model.caching == "anthropic":
        usage |= {"cache_read_input_tokens": cr, "cache_creation_input_tokens": cw}
    return usage


def _metadata(key: ApiKey, feature: str, model: Model, usage: dict, err: int, who: str) -> str:
    meta: dict = {
        "user_api_key": key.secret_hash,
        "user_api_key_alias": key.name,
        "user_api_key_team_id": team_uuid(key.team),
        "user_api_key_org_id": None,
        "user_api_key_user_id": None,
        "user_api_key_team_alias": key.team,
        "user_api_key_end_user_id": who or None,
        "spend_logs_metadata": {
            "project": key.project,
            "feature": feature,
            "environment": key.environment,
        },
        "requester_ip_address": "",
        "usage_object": usage,
        "model_map_information": {"model_map_key": model.name},
        "status": "failure" if err else "success",
    }
    if err:
        status, _, cls = ERRORS[err]
        provider = model.litellm_provider
        meta["error_information"] = {
            "error_code": str(status),
            "error_class": cls,
            "llm_provider": provider,
            "error_message": f"litellm.{cls}: {provider.capitalize()}Exception - "
            + ERROR_TEXT[status],
        }
    return _json(meta)


def write_litellm(
    path: Path,
    rows: Requests,
    rng: np.random.Generator,
    texts: Texts,
    cat: Catalogue,
    bad: list[str],
) -> tuple[int, Malformed]:
    """Rows in start-time order; `spend` is the internal list-price estimate (0 for failures and
    cache hits), with the float noise real spend logs have."""
    n = len(rows)
    start = naive_us(rows.ts_us)
    end = naive_us(rows.ts_us + rows.duration_ms * 1000)
    first_token = np.where(rows.ttft_ms >= 0, rows.ttft_ms, rows.duration_ms)
    first = naive_us(rows.ts_us + first_token * 1000)
    cost = cat.cost(rows.model, rows.input, rows.cache_read, rows.cache_write, rows.output)
    spend = np.where(rows.billable(), cost, 0.0).tolist()
    ids, oai, cache_keys = uuids(rng, n), hexes(rng, n, 29), hexes(rng, n, 64)
    ips = rng.integers(2, 250, size=(n, 2)).tolist()
    content = iter(texts.prod(rows.feature[rows.content]))
    out = []
    for i, (s, m, inp, cr, cw, outp, rsn, err, hit, dur, has, user) in enumerate(
        rows.rows(COLUMNS)
    ):
        key, feature, _ = STREAM_INFO[s]
        model = MODELS[m]
        if err or model.embedding:
            rid = ids[i]
        else:
            rid = "chatcmpl-" + (oai[i] if model.provider == "openai" else ids[i])
        who = end_user(key.team, feature, user) or ""
        usage = _usage(model, inp, cr, cw, outp, rsn)
        messages: object = {}
        response: object = {}
        if has:
            system, prompt, answer = next(content)
            messages = [prompt] if model.embedding else chat_messages(system, prompt)
            if answer and not err:
                message = {"role": "assistant", "content": answer}
                choice = {"index": 0, "finish_reason": "stop", "message": message}
                response = {"id": rid, "model": model.snapshot, "choices": [choice]}
        out.append(
            {
                "request_id": rid,
                "call_type": "aembedding" if model.embedding else "acompletion",
                "api_key": key.secret_hash,
                "spend": spend[i],
                "total_tokens": inp + outp,
                "prompt_tokens": inp,
                "completion_tokens": outp,
                "startTime": start[i],
                "endTime": end[i],
                "completionStartTime": first[i],
                "request_duration_ms": dur,
                "model": model.name,
                "model_id": hashlib.sha256(f"deployment:{model.name}".encode()).hexdigest()[:16],
                "model_group": model.name,
                "custom_llm_provider": model.litellm_provider,
                "api_base": model.api_base,
                "user": "",
                "metadata": _metadata(key, feature, model, usage, err, who),
                "cache_hit": "None" if err else str(hit),
                "cache_key": "" if err else cache_keys[i],
                "request_tags": _json([f"project:{key.project}", f"feature:{feature}"]),
                "team_id": team_uuid(key.team),
                "organization_id": "",
                "end_user": who,
                "requester_ip_address": f"10.20.{ips[i][0]}.{ips[i][1]}",
                "messages": messages,
                "response": response,
                "session_id": "",
                "status": "failure" if err else "success",
                "proxy_server_request": {},
            }
        )
    broken = []
    for kind, h in zip(bad, uuids(rng, len(bad)), strict=True):
        row = copy.deepcopy(out[0]) if out else {"spend": 0.0}
        row["request_id"] = h
        if kind == "null_start_time":
            row["startTime"] = None
        broken.append(row)
    rows_out, where = merge(out, broken, rng)
    path.write_bytes(b"[\n" + b",\n".join(orjson.dumps(r) for r in rows_out) + b"\n]\n")
    return len(out), list(zip(where, bad, strict=True))
