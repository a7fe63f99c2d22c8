"""Helpers for the security tests: canary strings, gateway logs that carry them in every content
field, a byte-wise scanner (UTF-8, UTF-16 and base64 forms) and an HTTP server that echoes the
credentials it receives back in its error bodies."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def canary(kind: str) -> str:
    return f"CANARY-{kind}-{uuid.uuid4().hex}"


def forms(needle: str) -> dict[str, bytes]:
    """The byte forms a leaked string could take: UTF-8, UTF-16 and base64 at each alignment."""
    raw = needle.encode()
    found = {
        "utf-8": raw,
        "utf-16-le": needle.encode("utf-16-le"),
        "utf-16-be": needle.encode("utf-16-be"),
    }
    for shift in range(3):
        first, last = -(-8 * shift // 6), 8 * (shift + len(raw)) // 6  # chars set by `raw` only
        for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            found[f"{name}+{shift}"] = encode(b"\0" * shift + raw)[first:last]
    return found


def hits(data: bytes, needles: Iterable[str]) -> list[str]:
    """`needle (form)` for every form of every needle found in `data`."""
    return [f"{n} ({form})" for n in needles for form, b in forms(n).items() if b in data]


def scan_files(files: Iterable[Path], needles: list[str]) -> dict[str, list[str]]:
    """{file: hits} for the files holding any form of any needle."""
    found = {}
    for f in files:
        try:
            data = f.read_bytes()
        except OSError:
            continue
        if where := hits(data, needles):
            found[str(f)] = where
    return found


def files_under(*roots: Path, since: float | None = None) -> list[Path]:
    """Every regular file below the roots (modified at or after `since`, when given)."""
    out = []
    for root in roots:
        if not root.exists():
            continue
        for f in root.rglob("*"):
            fresh = since is None or (f.is_file() and f.stat().st_mtime >= since)
            if f.is_file() and not f.is_symlink() and fresh:
                out.append(f)
    return out


# --- gateway logs with content in every field a real log may carry it --------------------------


def gateway_logs(prompt: str, response: str, day: str = "2026-10-01") -> dict[str, list[dict]]:
    """Two requests per log format whose every content field holds a canary."""
    messages = [{"role": "system", "content": prompt}, {"role": "user", "content": prompt}]
    reply = {"choices": [{"message": {"role": "assistant", "content": response}}]}
    out: dict[str, list[dict]] = {}
    out["bimo-gateway"] = [
        {
            "schema": "bimo.gateway.v1",
            "request_id": f"gw-{i}",
            "timestamp": f"{day}T10:0{i}:00Z",
            "provider": "openai",
            "model": "gpt-4o",
            "usage": {"input_tokens": 120, "output_tokens": 30, "cache_read_input_tokens": 20},
            "attribution": {"team": "search", "project": "assist", "environment": "prod"},
            "messages": messages,
            "response": reply,
            "request": {"messages": messages, "temperature": 0.2},
            "prompt": prompt,
            "completion": response,
            "system": prompt,
            "tools": [{"name": "lookup", "description": prompt}],
            "input": prompt,
            "output": response,
            "debug_note": prompt,  # an unknown string field: not kept either
        }
        for i in range(2)
    ]
    out["litellm"] = [
        {
            "request_id": f"ll-{i}",
            "call_type": "acompletion",
            "api_key": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
            "spend": 0.0012,
            "prompt_tokens": 100,
            "completion_tokens": 20,
            "total_tokens": 120,
            "startTime": f"{day}T11:0{i}:00",
            "endTime": f"{day}T11:0{i}:02",
            "model": "openai/gpt-4o",
            "custom_llm_provider": "openai",
            "user": "u1",
            "metadata": json.dumps(
                {
                    "user_api_key_alias": "svc",
                    "hidden_params": {"prompt": prompt},
                    "usage_object": {"prompt_tokens": 100, "completion_tokens": 20},
                }
            ),
            "request_tags": json.dumps(["team:search"]),
            "messages": json.dumps(messages),
            "response": json.dumps(reply),
            "proxy_server_request": json.dumps({"body": {"messages": messages}}),
            "status": "success",
            "cache_hit": "False",
        }
        for i in range(2)
    ]
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.usage.input_tokens": 300,
        "gen_ai.usage.output_tokens": 40,
        "gen_ai.input.messages": json.dumps(messages),
        "gen_ai.output.messages": json.dumps(reply),
        "gen_ai.system_instructions": prompt,
        "gen_ai.prompt": prompt,
        "gen_ai.completion": response,
    }
    spans = [
        {
            "traceId": f"{i:032x}",
            "spanId": f"{i:016x}",
            "name": "chat",
            "startTimeUnixNano": str(1_790_000_000_000_000_000 + i),
            "endTimeUnixNano": str(1_790_000_001_000_000_000 + i),
            "attributes": [
                {
                    "key": k,
                    "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v},
                }
                for k, v in attrs.items()
            ],
            "events": [
                {
                    "name": "gen_ai.user.message",
                    "attributes": [{"key": "content", "value": {"stringValue": prompt}}],
                }
            ],
        }
        for i in range(1, 3)
    ]
    out["otel-genai"] = [
        {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name",
         "value": {"stringValue": "assist"}}]}, "scopeSpans": [{"spans": spans}]}]}
    ]  # fmt: skip
    out["cli-log"] = [
        {
            "type": "usage",
            "message_id": f"cli-{i}",
            "ts": f"{day}T12:0{i}:00Z",
            "session_id": "s1",
            "developer": "dev1",
            "tool": "claude-code",
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "usage": {"input_tokens": 10, "output_tokens": 5},
            "prompt": prompt,
            "content": [{"type": "text", "text": prompt}],
            "response": response,
        }
        for i in range(2)
    ] + [{"type": "message", "content": prompt, "response": response}]
    return out


def write_logs(root: Path, logs: dict[str, list[dict]], broken: str) -> dict[str, list[Path]]:
    """Write each format as JSON Lines under `root/<source>/`, plus one line that is not JSON
    and carries `broken` (it must be quarantined without its text)."""
    files = {}
    for source, records in logs.items():
        folder = root / source
        folder.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps(r) for r in records] + [f'{{"prompt": "{broken}", oops']
        path = folder / "logs.jsonl"
        path.write_text("\n".join(lines) + "\n")
        files[source] = [path]
    return files


# --- a server that echoes credentials back ----------------------------------------------------


@contextmanager
def echo_server(status: int, body_for) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 answering every GET with `status` and `body_for(credential)`,
    where credential is what came in the Authorization / x-api-key header (bearer removed)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            auth = self.headers.get("Authorization") or self.headers.get("x-api-key") or ""
            body = body_for(auth.removeprefix("Bearer ").strip())
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
