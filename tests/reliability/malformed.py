"""Malformed inputs for every format Bimo loads: a registry of named cases.

Each `Case` writes its file(s) into a folder and states exactly what the real loaders must make
of them: how many rows load, how many quarantine rows appear (each with a reason containing
`reason`), or — for billing export files only, whose contract is to refuse a structurally broken
file whole with a `ValueError` naming it — the `file_error` text. Good records surround the bad
one, so a case also proves that nothing stops mid-file and every good record after it loads.

Every case gets its own file and its own ids, accounts, orgs or vendors, so whole families load
in one call (one dlt run each) and counts split by the file column of raw rows and quarantine.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tests.billing.test_apis_anthropic import bucket as a_bucket
from tests.billing.test_apis_anthropic import cost as a_cost
from tests.billing.test_apis_anthropic import usage_result as a_usage
from tests.billing.test_apis_http import envelope
from tests.billing.test_apis_openai import bucket as o_bucket
from tests.billing.test_apis_openai import cost as o_cost

GATEWAY = ("bimo-gateway", "litellm", "otel-genai", "cli-log")
BILLING_FILES = ("focus", "aws-cur", "azure", "gcp", "oci")
BILLING_APIS = ("openai-costs", "openai-usage", "anthropic-costs", "anthropic-usage")
SAAS = ("github-copilot-seats", "github-copilot-billing", "github-billing-usage",
        "slack-billable", "zoom-users", "zoom-daily-report", "saas-invoices")  # fmt: skip
FORMATS = GATEWAY + BILLING_FILES + BILLING_APIS + SAAS
KINDS = ("truncated", "encoding", "bom", "wrong_type", "missing_field", "nan_inf", "negative",
         "magnitude", "far_date", "duplicate_id", "unknown_column", "empty_file", "huge_line",
         "other")  # fmt: skip
DROP = object()  # an override value that removes the key
HUGE = 4_000_000  # bytes of one huge line


@dataclass(frozen=True)
class Case:
    """One malformed input and exactly what loading it must give."""

    id: str
    format: str
    kind: str
    build: Callable[[Path], list[Path]]
    good: int  # rows loaded into the raw table
    bad: int  # rows in the quarantine table
    reason: str | None = None  # substring every quarantine reason of the case contains
    file_error: str | None = None  # billing files: parse raises ValueError with this text

    @property
    def family(self) -> str:
        if self.format in GATEWAY:
            return "gateway"
        return "billing" if self.format in BILLING_FILES + BILLING_APIS else "saas"


def merged(base: dict, over: dict) -> dict:
    """`base` with `over` applied deeply (`DROP` removes a key)."""
    out = dict(base)
    for key, value in over.items():
        if value is DROP:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def _bytes(item: object) -> bytes:
    if isinstance(item, bytes):
        return item
    return item.encode() if isinstance(item, str) else json.dumps(item).encode()


def lines_file(path: Path, items: list, *, prefix: bytes = b"", gz: bool = False) -> Path:
    """JSON Lines of dicts (or raw bytes/str lines)."""
    data = prefix + b"".join(_bytes(i) + b"\n" for i in items)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def csv_text(rows: list[dict]) -> str:
    header = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# good records of every format

T0 = datetime(2026, 10, 5, 12, tzinfo=UTC)
NANO0 = int(T0.timestamp()) * 10**9


def gateway(cid: str, i: int, **over) -> dict:
    base = {"schema": "bimo.gateway.v1", "request_id": f"{cid}-{i}",
            "timestamp": "2026-10-05T12:00:00Z", "duration_ms": 800, "provider": "openai",
            "model": "gpt-4o-mini", "status": "success",
            "usage": {"input_tokens": 100, "output_tokens": 20},
            "attribution": {"team": "core", "project": "chat"}}  # fmt: skip
    return merged(base, over)


def litellm(cid: str, i: int, **over) -> dict:
    base = {"request_id": f"{cid}-{i}", "call_type": "acompletion", "spend": 0.0012,
            "prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
            "startTime": "2026-10-05 12:00:00.000000", "endTime": "2026-10-05 12:00:01.000000",
            "model": "gpt-4o-mini", "custom_llm_provider": "openai", "metadata": "{}",
            "cache_hit": "False", "request_tags": "[]", "team_id": "", "user": ""}  # fmt: skip
    return merged(base, over)


def cli(cid: str, i: int, **over) -> dict:
    base = {"type": "usage", "message_id": f"{cid}-{i}", "ts": "2026-10-05T12:00:00Z",
            "session_id": "s1", "developer": "dev1", "tool": "claude-code",
            "provider": "anthropic", "model": "claude-sonnet-4",
            "usage": {"input_tokens": 100, "output_tokens": 20}, "cost_usd": 0.002,
            "duration_ms": 900}  # fmt: skip
    return merged(base, over)


def _any(value: object) -> dict:
    if isinstance(value, dict):
        return value
    return {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}


def otel(cid: str, i: int, *, attrs: dict | None = None, **span_over) -> dict:
    """One export request holding one GenAI span (`attrs` override its attributes)."""
    values = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
              "gen_ai.request.model": "gpt-4o", "gen_ai.response.id": f"{cid}-{i}",
              "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20}  # fmt: skip
    values = merged(values, attrs or {})
    span = {"traceId": f"{cid}-trace-{i}", "spanId": f"span-{i}", "name": "chat gpt-4o",
            "kind": 3, "startTimeUnixNano": str(NANO0), "endTimeUnixNano": str(NANO0 + 10**9),
            "attributes": [{"key": k, "value": _any(v)} for k, v in values.items()]}  # fmt: skip
    span = merged(span, span_over)
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "chat"}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}


GOOD_GATEWAY: dict[str, Callable[..., dict]] = {
    "bimo-gateway": gateway, "litellm": litellm, "otel-genai": otel, "cli-log": cli,
}  # fmt: skip


def focus_row(cid: str, **over) -> dict:
    base = {"BilledCost": "1.25", "EffectiveCost": "1.25", "ListCost": "1.5",
            "ContractedCost": "1.25", "BillingCurrency": "USD", "ChargeCategory": "Usage",
            "BillingAccountId": f"acct-{cid}", "BillingPeriodStart": "2026-10-01T00:00:00Z",
            "BillingPeriodEnd": "2026-11-01T00:00:00Z", "ChargePeriodStart": "2026-10-05T00:00:00Z",
            "ChargePeriodEnd": "2026-10-06T00:00:00Z", "ProviderName": "AWS",
            "ServiceName": "Amazon Bedrock", "ChargeDescription": "tokens"}  # fmt: skip
    return merged(base, over)


def cur_row(cid: str, **over) -> dict:
    base = {"bill_payer_account_id": f"acct-{cid}",
            "bill_billing_period_start_date": "2026-10-01T00:00:00.000Z",
            "bill_billing_period_end_date": "2026-11-01T00:00:00.000Z",
            "line_item_line_item_type": "Usage",
            "line_item_usage_start_date": "2026-10-05T00:00:00.000Z",
            "line_item_usage_end_date": "2026-10-05T01:00:00.000Z",
            "line_item_unblended_cost": "0.75", "line_item_currency_code": "USD",
            "line_item_product_code": "AmazonEC2", "line_item_usage_amount": "1"}  # fmt: skip
    return merged(base, over)


def azure_row(cid: str, **over) -> dict:
    base = {"BillingAccountId": f"acct-{cid}", "BillingPeriodStartDate": "10/1/2026",
            "BillingPeriodEndDate": "10/31/2026", "Date": "10/5/2026", "Cost": "2.304",
            "BillingCurrency": "EUR", "ChargeType": "Usage", "MeterCategory": "Virtual Machines",
            "Quantity": "24", "UnitOfMeasure": "1 Hour"}  # fmt: skip
    return merged(base, over)


def gcp_row(cid: str, **over) -> dict:
    base = {"billing_account_id": f"acct-{cid}",
            "service": {"id": "6F81", "description": "Vertex AI"},
            "sku": {"id": "2E27", "description": "Gemini input tokens"},
            "usage_start_time": "2026-10-05 12:00:00 UTC",
            "usage_end_time": "2026-10-05 13:00:00 UTC", "cost": 0.5, "currency": "USD",
            "credits": [], "invoice": {"month": "202610"}, "cost_type": "regular"}  # fmt: skip
    return merged(base, over)


def oci_row(cid: str, **over) -> dict:
    base = {"lineItem/referenceNo": f"ref-{cid}", "lineItem/tenantId": f"acct-{cid}",
            "lineItem/intervalUsageStart": "2026-10-05T10:00Z",
            "lineItem/intervalUsageEnd": "2026-10-05T11:00:00Z", "product/service": "COMPUTE",
            "usage/billedQuantity": "1.0", "cost/myCost": "2.32376000E-2",
            "cost/currencyCode": "USD", "lineItem/isCorrection": "false"}  # fmt: skip
    return merged(base, over)


GOOD_ROWS: dict[str, Callable[..., dict]] = {
    "focus": focus_row, "aws-cur": cur_row, "azure": azure_row, "gcp": gcp_row, "oci": oci_row,
}  # fmt: skip
SUFFIX = {"focus": "csv", "aws-cur": "csv", "azure": "csv", "gcp": "jsonl", "oci": "csv"}
COST = {"focus": "BilledCost", "aws-cur": "line_item_unblended_cost", "azure": "Cost",
        "gcp": "cost", "oci": "cost/myCost"}  # fmt: skip
START = {"focus": "ChargePeriodStart", "aws-cur": "line_item_usage_start_date", "azure": "Date",
         "gcp": "usage_start_time", "oci": "lineItem/intervalUsageStart"}  # fmt: skip
ACCOUNT = {"focus": "BillingAccountId", "aws-cur": "bill_payer_account_id",
           "azure": "BillingAccountId", "gcp": "billing_account_id",
           "oci": "lineItem/tenantId"}  # fmt: skip


def api_page(fmt: str, results: list, *, day: int = 0, bound: object = None) -> dict:
    """One saved page of an AI-provider report with one daily bucket of `results`."""
    if fmt.startswith("openai"):
        b = o_bucket(day, results)
        return envelope(
            [b | ({"start_time": bound} if bound is not None else {})], 1, 1, openai=True
        )
    b = a_bucket(day, results)
    return envelope([b | ({"starting_at": bound} if bound is not None else {})], 1, 1, openai=False)


def api_result(fmt: str, i: int, **over) -> dict:
    if fmt == "openai-costs":
        base = o_cost(0.5 + i, "gpt-4o-mini, input")
    elif fmt == "openai-usage":
        base = {"object": "organization.usage.completions.result", "input_tokens": 1000,
                "input_cached_tokens": 400, "output_tokens": 50, "num_model_requests": 3,
                "model": "gpt-4o-mini", "project_id": "proj_a"}  # fmt: skip
    elif fmt == "anthropic-costs":
        base = a_cost(f"{123 + i}.5", "output_tokens")
    else:
        base = a_usage()
    return merged(base, over)


def saas_record(fmt: str, cid: str, i: int, **over) -> dict:
    """One record of a SaaS page (a seat, usage item, user, report date...)."""
    base = {
        "github-copilot-seats": {"created_at": "2026-01-01T00:00:00-06:00", "plan_type": "business",
                                 "assignee": {"login": f"{cid}-u{i}", "id": i, "type": "User"},
                                 "last_activity_at": "2026-10-04T09:00:00+02:00"},
        "github-copilot-billing": {"seat_breakdown": {"total": 10 + i, "active_this_cycle": 8},
                                   "plan_type": "business", "seat_management_setting": "all"},
        "github-billing-usage": {"date": f"2026-10-{1 + i % 28:02d}", "product": "actions",
                                 "sku": "linux", "quantity": 120, "unitType": "Minutes",
                                 "pricePerUnit": 0.008, "grossAmount": 0.96,
                                 "discountAmount": 0.16, "netAmount": 0.8,
                                 "organizationName": cid},
        "slack-billable": {"billing_active": True},
        "zoom-users": {"id": f"{cid}-z{i}", "email": f"u{i}@example.com", "type": 2,
                       "status": "active", "created_at": "2025-01-01T00:00:00Z"},
        "zoom-daily-report": {"date": f"2026-10-{1 + i % 28:02d}", "new_users": 1, "meetings": 4,
                              "participants": 9, "meeting_minutes": 120},
    }[fmt]  # fmt: skip
    return merged(base, over)


def saas_page(fmt: str, cid: str, records: list, *, total: int | None = None) -> dict:
    if fmt == "github-copilot-seats":
        return {"total_seats": len(records) if total is None else total, "seats": records}
    if fmt == "github-copilot-billing":
        return records[0]
    if fmt == "github-billing-usage":
        return {"usageItems": records}
    if fmt == "slack-billable":
        info = {f"U{cid}{n}": r for n, r in enumerate(records)}
        return {"ok": True, "billable_info": info, "response_metadata": {"next_cursor": ""}}
    if fmt == "zoom-users":
        return {"page_size": 300, "total_records": len(records), "users": records}
    return {"year": 2026, "month": 10, "dates": records}


def invoice(cid: str, i: int, **over) -> dict:
    base = {
        "vendor": f"{cid}-vendor-{i}",
        "period": "2026-09",
        "seats": "14",
        "amount": "266.00",
        "currency": "USD",
        "invoice_id": f"INV-{i}",
        "team": "platform",
    }
    return merged(base, over)


# ---------------------------------------------------------------------------------------------
# case builders: a bad record between good ones, in each format's container


def _gz_cut(data: bytes) -> bytes:
    """`data` gzipped, then cut in the middle of a second gzip member holding the last line."""
    head, _, tail = data.rstrip(b"\n").rpartition(b"\n")
    second = gzip.compress(tail + b"\n", mtime=0)
    return gzip.compress(head + b"\n", mtime=0) + second[: len(second) // 2]


def gateway_case(fmt: str, kind: str, name: str, bad: Callable, *, good: int = 3, n_bad: int = 1,
                 reason: str | None = None, raw: Callable | None = None, prefix: bytes = b"",
                 cut: bool = False) -> Case:  # fmt: skip
    """Lines good, good, *bad(cid, make), good — or `raw(cid, make)` as the whole file."""
    cid = f"{fmt}.{name}"
    make = GOOD_GATEWAY[fmt]

    def build(folder: Path) -> list[Path]:
        items = (
            raw(cid, make) if raw else [make(cid, 0), make(cid, 1), *bad(cid, make), make(cid, 2)]
        )
        path = lines_file(folder / f"{cid}.jsonl", items, prefix=prefix)
        if cut:
            path = path.rename(path.with_suffix(".jsonl.gz"))
            path.write_bytes(_gz_cut(b"".join(_bytes(i) + b"\n" for i in items)))
        return [path]

    return Case(cid, fmt, kind, build, good, n_bad, reason)


def _common_gateway(fmt: str) -> list[Case]:
    """The kinds every JSON-lines log format shares."""

    def c(*a, **k) -> Case:
        return gateway_case(fmt, *a, **k)

    return [
        c("truncated", "truncated_line", lambda i, m: [json.dumps(m(i, 9))[:40]],
          reason="invalid JSON"),
        c("truncated", "truncated_array", None, good=0, reason="unterminated",
          raw=lambda i, m: [json.dumps([m(i, 0), m(i, 1)])[:-30]]),
        c("truncated", "truncated_gzip", None, good=3, n_bad=2, cut=True,
          raw=lambda i, m: [m(i, 0), m(i, 1), m(i, 2), m(i, 3, padding="z" * 5000)]),
        c("encoding", "invalid_utf8", lambda i, m: [_bytes(m(i, 9)).replace(b"9", b"\xff\xfe", 1)],
          reason="invalid JSON"),
        c("encoding", "latin1_value", lambda i, m: [], good=3, n_bad=0,
          raw=lambda i, m: [m(i, 0), m(i, 1), m(i, 2, note="caf\u00e9 \u2603")]),
        c("bom", "utf8_bom", lambda i, m: [], n_bad=0, prefix=b"\xef\xbb\xbf"),
        c("wrong_type", "record_is_array", lambda i, m: [[1, 2, 3]], reason="not an object"),
        c("wrong_type", "record_is_number", lambda i, m: ["42"], reason="not an object"),
        c("duplicate_id", "same_id_twice", lambda i, m: [m(i, 1)], n_bad=0),
        c("empty_file", "zero_bytes", None, good=0, n_bad=0, raw=lambda i, m: []),
        c("empty_file", "blank_lines", None, good=0, n_bad=0, raw=lambda i, m: ["", "   ", ""]),
        c("huge_line", "huge_garbage_line", lambda i, m: [b"x" * HUGE], reason="invalid JSON"),
        c("huge_line", "huge_valid_record", lambda i, m: [m(i, 3, debug_blob="y" * HUGE)],
          good=4, n_bad=0),
        c("unknown_column", "unknown_top_level_fields",
          lambda i, m: [m(i, 3, x_new_counter=7, x_new_flag=True, brand_new="text")],
          good=4, n_bad=0),
        c("nan_inf", "bare_nan_literal",
          lambda i, m: [json.dumps(m(i, 9)).replace("{", '{"bogus": NaN, ', 1)],
          reason="invalid JSON"),
    ]  # fmt: skip


def _gateway_cases() -> list[Case]:
    g, ll, ot, cl = (lambda *a, f=f, **k: gateway_case(f, *a, **k) for f in GATEWAY)
    cases = [case for fmt in GATEWAY for case in _common_gateway(fmt)]
    cases += [
        g("wrong_type", "tokens_are_words", lambda i, m: [m(i, 9, usage={"output_tokens": "lots"})],
          reason="usage.output_tokens"),
        g("wrong_type", "usage_is_a_list", lambda i, m: [m(i, 9, usage=[1, 2])],
          reason="usage: expected an object"),
        g("missing_field", "no_request_id", lambda i, m: [m(i, 9, request_id=DROP)],
          reason="missing request_id"),
        g("missing_field", "no_timestamp", lambda i, m: [m(i, 9, timestamp=DROP)],
          reason="missing timestamp"),
        g("nan_inf", "nan_string_tokens", lambda i, m: [m(i, 9, usage={"input_tokens": "NaN"})],
          reason="usage.input_tokens"),
        g("negative", "negative_tokens", lambda i, m: [m(i, 9, usage={"input_tokens": -5})],
          reason="negative value"),
        g("magnitude", "tokens_beyond_int64",
          lambda i, m: [m(i, 9, usage={"output_tokens": 10**30})], reason="out of range"),
        g("magnitude", "duration_1e300", lambda i, m: [m(i, 9, duration_ms=1e300)],
          reason="out of range"),
        g("far_date", "year_1899", lambda i, m: [m(i, 9, timestamp="1899-12-31T00:00:00Z")],
          reason="out of range"),
        g("far_date", "year_9999", lambda i, m: [m(i, 9, timestamp="9999-12-31T23:59:59Z")],
          reason="out of range"),
        g("far_date", "unix_seconds_1e15", lambda i, m: [m(i, 9, timestamp=1e15)],
          reason="not a valid unix time"),
        g("other", "unknown_status", lambda i, m: [m(i, 9, status="maybe")], reason="status"),
        ll("wrong_type", "spend_is_text", lambda i, m: [m(i, 9, spend="abc")], reason="spend"),
        ll("wrong_type", "tokens_are_an_object", lambda i, m: [m(i, 9, prompt_tokens={"a": 1})],
           reason="prompt_tokens"),
        ll("missing_field", "no_request_id", lambda i, m: [m(i, 9, request_id="")],
           reason="missing request_id"),
        ll("missing_field", "null_start_time", lambda i, m: [m(i, 9, startTime=None)],
           reason="missing startTime"),
        ll("missing_field", "no_spend_is_null_not_zero", lambda i, m: [m(i, 3, spend="")],
           good=4, n_bad=0),
        ll("nan_inf", "spend_nan", lambda i, m: [m(i, 9, spend="NaN")], reason="invalid amount"),
        ll("nan_inf", "spend_infinity", lambda i, m: [m(i, 9, spend="Infinity")],
           reason="invalid amount"),
        ll("negative", "negative_spend", lambda i, m: [m(i, 9, spend=-0.5)],
           reason="invalid amount"),
        ll("negative", "negative_completion_tokens", lambda i, m: [m(i, 9, completion_tokens=-1)],
           reason="negative value"),
        ll("magnitude", "total_tokens_1e30", lambda i, m: [m(i, 9, total_tokens=1e30)],
           reason="out of range"),
        ll("far_date", "epoch_start_time", lambda i, m: [m(i, 9, startTime="1970-01-01 00:00:00")],
           reason="out of range"),
        ll("other", "metadata_not_json", lambda i, m: [m(i, 3, metadata="{not json")],
           good=4, n_bad=0),
        ot("wrong_type", "resource_spans_is_text", lambda i, m: [{"resourceSpans": "x"}],
           reason="no resourceSpans list"),
        ot("wrong_type", "resource_span_is_text", lambda i, m: [{"resourceSpans": ["x"]}],
           reason="is not an object"),
        ot("wrong_type", "scope_spans_entry_is_text",
           lambda i, m: [{"resourceSpans": [{"scopeSpans": ["x"]}]}], reason="spans list"),
        ot("wrong_type", "int_value_is_text",
           lambda i, m: [m(i, 9, attrs={"gen_ai.usage.input_tokens": {"intValue": "abc"}})],
           reason="gen_ai.usage.input_tokens"),
        ot("wrong_type", "attribute_key_is_a_list",
           lambda i, m: [_odd_key(m(i, 3))], good=4, n_bad=0),
        ot("missing_field", "two_bad_spans_in_one_request",
           lambda i, m: [_one_request(m(i, 3), m(i, 8, traceId=DROP), m(i, 9, spanId=DROP))],
           good=4, reason="2 bad items: span 2: missing traceId; span 3: missing spanId"),
        ot("missing_field", "no_trace_id", lambda i, m: [m(i, 9, traceId=DROP)],
           reason="missing traceId"),
        ot("missing_field", "no_start_time", lambda i, m: [m(i, 9, startTimeUnixNano=DROP)],
           reason="missing startTimeUnixNano"),
        ot("nan_inf", "nan_double_tokens",
           lambda i, m: [m(i, 9, attrs={"gen_ai.usage.input_tokens": {"doubleValue": "NaN"}})],
           reason="gen_ai.usage.input_tokens"),
        ot("negative", "negative_tokens",
           lambda i, m: [m(i, 9, attrs={"gen_ai.usage.input_tokens": -5})],
           reason="negative value"),
        ot("magnitude", "tokens_beyond_int64",
           lambda i, m: [m(i, 9, attrs={"gen_ai.usage.output_tokens": 10**25})],
           reason="out of range"),
        ot("magnitude", "ttft_1e300",
           lambda i, m: [m(i, 9, attrs={"gen_ai.response.time_to_first_chunk":
                                        {"doubleValue": 1e300}})],
           reason="out of range"),
        ot("far_date", "year_1973", lambda i, m: [m(i, 9, startTimeUnixNano=str(10**17))],
           reason="out of range"),
        ot("far_date", "beyond_year_9999", lambda i, m: [m(i, 9, startTimeUnixNano="9" * 25)],
           reason="not a valid unix time"),
        ot("other", "non_genai_span_is_skipped",
           lambda i, m: [m(i, 9, attrs=_no_genai())], n_bad=0),
        cl("wrong_type", "usage_is_text", lambda i, m: [m(i, 9, usage="x")],
           reason="usage: expected an object"),
        cl("wrong_type", "is_error_maybe", lambda i, m: [m(i, 9, is_error="maybe")],
           reason="is_error"),
        cl("missing_field", "no_message_id", lambda i, m: [m(i, 9, message_id=DROP)],
           reason="missing message_id"),
        cl("missing_field", "no_ts", lambda i, m: [m(i, 9, ts=DROP)], reason="missing ts"),
        cl("nan_inf", "cost_nan", lambda i, m: [m(i, 9, cost_usd="NaN")], reason="invalid amount"),
        cl("nan_inf", "cost_inf", lambda i, m: [m(i, 9, cost_usd="inf")], reason="invalid amount"),
        cl("negative", "negative_cost", lambda i, m: [m(i, 9, cost_usd=-1)],
           reason="invalid amount"),
        cl("negative", "negative_tokens", lambda i, m: [m(i, 9, usage={"output_tokens": -2})],
           reason="negative value"),
        cl("magnitude", "tokens_1e30", lambda i, m: [m(i, 9, usage={"output_tokens": 1e30})],
           reason="out of range"),
        cl("far_date", "year_2150", lambda i, m: [m(i, 9, ts="2150-01-01T00:00:00Z")],
           reason="out of range"),
        cl("other", "other_line_type_is_skipped", lambda i, m: [{"type": "session_start"}],
           n_bad=0),
    ]  # fmt: skip
    return cases


def _no_genai() -> dict:
    keys = (
        "gen_ai.operation.name",
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "gen_ai.response.id",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
    )
    return {k: DROP for k in keys} | {"http.method": "GET"}  # fmt: skip


def _one_request(*records: dict) -> dict:
    """The spans of several export requests in one request's single scope (one JSON line)."""
    spans = [r["resourceSpans"][0]["scopeSpans"][0]["spans"][0] for r in records]
    first = records[0]
    first["resourceSpans"][0]["scopeSpans"][0]["spans"] = spans
    return first


def _odd_key(record: dict) -> dict:
    """A span whose attribute list also holds an entry keyed by a list (ignored, span loads)."""
    span = record["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["attributes"].append({"key": ["gen_ai.odd"], "value": {"intValue": "1"}})
    return record


def billing_case(fmt: str, kind: str, name: str, bad: Callable | None, *, good: int = 3,
                 n_bad: int = 1, reason: str | None = None, file_error: str | None = None,
                 raw: Callable[[str], bytes] | None = None, prefix: bytes = b"",
                 suffix: str | None = None) -> Case:  # fmt: skip
    """Rows good, good, *bad(cid, make), good of one export (CSV, or JSON lines for GCP)."""
    cid = f"{fmt}.{name}"
    make = GOOD_ROWS[fmt]

    def build(folder: Path) -> list[Path]:
        path = folder / f"{cid}.{suffix or SUFFIX[fmt]}"
        if raw:
            path.write_bytes(raw(cid))
            return [path]
        rows = [make(cid), make(cid), *bad(cid, make), make(cid)]
        if fmt == "gcp":
            return [lines_file(path, rows, prefix=prefix)]
        path.write_bytes(prefix + csv_text(rows).encode())
        return [path]

    return Case(cid, fmt, kind, build, good, n_bad, reason, file_error)


def _billing_file_cases(fmt: str) -> list[Case]:
    cost, start, account = COST[fmt], START[fmt], ACCOUNT[fmt]
    gcp = fmt == "gcp"

    def c(*a, **k) -> Case:
        return billing_case(fmt, *a, **k)

    def row(i: str, m: Callable, **over) -> dict:
        return m(i, **over)

    far_past = "1/1/1899" if fmt == "azure" else "1899-12-31T00:00:00Z"
    far_future = "12/31/9999" if fmt == "azure" else "9999-12-31T00:00:00Z"
    text = "ChargeDescription" if fmt == "focus" else "MeterCategory" if fmt == "azure" else (
        "line_item_product_code" if fmt == "aws-cur" else "product/service" if fmt == "oci"
        else "cost_type")  # fmt: skip
    cases = [
        c("wrong_type", "cost_is_text", lambda i, m: [row(i, m, **{cost: "abc"})],
          reason="unparseable"),
        c("missing_field", "cost_empty", lambda i, m: [row(i, m, **{cost: None if gcp else ""})],
          reason="missing"),
        c("missing_field", "account_empty",
          lambda i, m: [row(i, m, **{account: None if gcp else ""})], reason="missing"),
        c("nan_inf", "cost_nan", lambda i, m: [row(i, m, **{cost: "NaN"})], reason="unparseable"),
        c("nan_inf", "cost_inf", lambda i, m: [row(i, m, **{cost: "-inf"})], reason="unparseable"),
        c("negative", "credit_is_kept", lambda i, m: [row(i, m, **{cost: "-5.5"})], good=4,
          n_bad=0),
        c("magnitude", "cost_1e30", lambda i, m: [row(i, m, **{cost: "1e30"})],
          reason="unparseable"),
        c("magnitude", "cost_sub_nano_kept", lambda i, m: [row(i, m, **{cost: "6.26609E-12"})],
          good=4, n_bad=0),
        c("far_date", "year_1899", lambda i, m: [row(i, m, **{start: far_past})],
          reason="out of range"),
        c("far_date", "year_9999", lambda i, m: [row(i, m, **{start: far_future})],
          reason="out of range"),
        c("duplicate_id", "same_row_twice", lambda i, m: [row(i, m), row(i, m)], good=5, n_bad=0),
        c("unknown_column", "new_columns_kept",
          lambda i, m: [], good=3, n_bad=0,
          raw=lambda i: _rows_bytes(fmt, [GOOD_ROWS[fmt](i, x_NewColumn="v", brand_new="1")] * 3)),
        c("empty_file", "zero_bytes", None, good=0, n_bad=0, raw=lambda i: b"",
          file_error="empty" if not gcp else "no recognisable"),
        c("huge_line", "huge_text_value", lambda i, m: [row(i, m, **{text: "x" * HUGE})],
          good=4, n_bad=0),
        c("truncated", "gzip_cut", None, good=0, n_bad=0, suffix=SUFFIX[fmt] + ".gz",
          raw=lambda i: gzip.compress(_rows_bytes(fmt, [GOOD_ROWS[fmt](i)] * 3))[:-30],
          file_error="gzip stream is truncated"),
        c("encoding", "latin1_bytes_in_text", None, good=3, n_bad=0,
          raw=lambda i: _rows_bytes(fmt, [GOOD_ROWS[fmt](i, **{text: "caf-"})] * 3)
          .replace(b"caf-", b"caf\xe9")),
    ]  # fmt: skip
    if gcp:
        cases += [
            c("truncated", "truncated_line", lambda i, m: [json.dumps(row(i, m))[:50]],
              reason="invalid JSON"),
            c("nan_inf", "bare_nan_literal",
              lambda i, m: [json.dumps(row(i, m)).replace("0.5", "NaN")], reason="unparseable"),
            c("wrong_type", "record_is_array", lambda i, m: [[1, 2]], reason="expected an object"),
            c("bom", "utf8_bom", lambda i, m: [], n_bad=0, prefix=b"\xef\xbb\xbf"),
        ]  # fmt: skip
    else:
        cases += [
            c("truncated", "last_row_cut", None, good=2, n_bad=1, reason="malformed CSV row",
              raw=lambda i: _rows_bytes(fmt, [GOOD_ROWS[fmt](i)] * 3)[:-60]),
            c("bom", "utf8_bom", lambda i, m: [], n_bad=0, prefix=b"\xef\xbb\xbf"),
            c("empty_file", "header_only", None, good=0, n_bad=0,
              raw=lambda i: _rows_bytes(fmt, [GOOD_ROWS[fmt](i)]).split(b"\n")[0] + b"\n"),
            c("missing_field", "cost_column_absent", None, good=0, n_bad=0,
              raw=lambda i: _rows_bytes(fmt, [merged(GOOD_ROWS[fmt](i), {cost: DROP})] * 2),
              file_error="missing required column"),
        ]  # fmt: skip
    return cases


def _rows_bytes(fmt: str, rows: list[dict]) -> bytes:
    if fmt == "gcp":
        return b"".join(json.dumps(r).encode() + b"\n" for r in rows)
    return csv_text(rows).encode()


def api_case(fmt: str, kind: str, name: str, bad: Callable | None, *, good: int = 3,
             n_bad: int = 1, reason: str | None = None,
             raw: Callable[[str], bytes] | None = None) -> Case:  # fmt: skip
    """One saved page whose bucket holds results good, good, *bad(make), good."""
    cid = f"{fmt}.{name}"

    def make(i: int = 0, **over) -> dict:
        return api_result(fmt, i, **over)

    def build(folder: Path) -> list[Path]:
        path = folder / f"{cid}.json"
        if raw:
            path.write_bytes(raw(cid))
        else:
            page = api_page(fmt, [make(0), make(1), *bad(make), make(2)])
            path.write_bytes(json.dumps(page).encode())
        return [path]

    return Case(cid, fmt, kind, build, good, n_bad, reason)


def _pages(fmt: str, middle: bytes, *, prefix: bytes = b"") -> bytes:
    """JSON Lines: a page of two good results, `middle`, a page of one good result."""
    first = json.dumps(api_page(fmt, [api_result(fmt, 0), api_result(fmt, 1)])).encode()
    last = json.dumps(api_page(fmt, [api_result(fmt, 2)], day=1)).encode()
    return prefix + first + b"\n" + middle + b"\n" + last + b"\n"


def _api_cases(fmt: str) -> list[Case]:
    costs = fmt.endswith("costs")
    openai = fmt.startswith("openai")
    token_key = "output_tokens"

    def c(*a, **k) -> Case:
        return api_case(fmt, *a, **k)

    def amount(value: object) -> dict:
        return {"amount": {"value": value, "currency": "usd"}} if openai else {"amount": value}

    bad_page = json.dumps(
        api_page(fmt, [api_result(fmt, 5)], bound=0 if openai else "1970-01-01T00:00:00Z")
    ).encode()
    cases = [
        c("truncated", "truncated_array", None, good=0, reason="not a complete JSON array",
          raw=lambda i: json.dumps([api_page(fmt, [api_result(fmt, 0)])]).encode()[:-20]),
        c("truncated", "truncated_page_line", None, reason="invalid JSON",
          raw=lambda i: _pages(fmt, json.dumps(api_page(fmt, [api_result(fmt, 4)])).encode()[:30])),
        c("encoding", "invalid_utf8_page", None, reason="invalid JSON",
          raw=lambda i: _pages(fmt, b'{"data": "\xff\xfe"}')),
        c("bom", "utf8_bom", None, n_bad=0, raw=lambda i: _pages(fmt, b"", prefix=b"\xef\xbb\xbf")),
        c("wrong_type", "page_is_a_list", None, reason="malformed page",
          raw=lambda i: _pages(fmt, b"[1, 2]")),
        c("wrong_type", "result_is_text", lambda m: ["oops"], reason="not an object"),
        c("far_date", "bucket_in_1970", None, reason="out of range",
          raw=lambda i: _pages(fmt, bad_page)),
        c("duplicate_id", "same_result_twice", lambda m: [m(1)], good=4, n_bad=0),
        c("unknown_column", "new_result_fields", lambda m: [m(3, brand_new_field=1, x_more="a")],
          good=4, n_bad=0),
        c("empty_file", "zero_bytes", None, good=0, reason="empty file", raw=lambda i: b""),
        c("huge_line", "huge_unknown_field", lambda m: [m(3, debug_blob="y" * HUGE)], good=4,
          n_bad=0),
    ]  # fmt: skip
    if costs:
        cases += [
            c("wrong_type", "amount_is_text", lambda m: [m(4, **amount("12,5"))],
              reason="not a number"),
            c("missing_field", "amount_absent", lambda m: [m(4, amount=DROP)], reason="amount"),
            c("nan_inf", "amount_nan", lambda m: [m(4, **amount("NaN"))], reason="finite"),
            c("nan_inf", "amount_infinity", lambda m: [m(4, **amount("-Infinity"))],
              reason="finite"),
            c("magnitude", "amount_1e25", lambda m: [m(4, **amount("1e25"))],
              reason="out of range"),
            c("negative", "negative_amount_is_kept", lambda m: [m(4, **amount("-2"))], good=4,
              n_bad=0),
        ]  # fmt: skip
    else:
        cases += [
            c("wrong_type", "tokens_are_text", lambda m: [m(4, **{token_key: "lots"})],
              reason="expected an integer"),
            c("negative", "negative_tokens", lambda m: [m(4, **{token_key: -1})],
              reason="non-negative"),
            c("nan_inf", "tokens_nan", lambda m: [m(4, **{token_key: "NaN"})],
              reason="non-negative integer"),
            c("magnitude", "tokens_1e30", lambda m: [m(4, **{token_key: 10**30})],
              reason="out of range"),
        ]  # fmt: skip
    return cases


def saas_case(fmt: str, kind: str, name: str, bad: Callable | None, *, good: int = 3,
              n_bad: int = 1, reason: str | None = None,
              raw: Callable[[str], bytes] | None = None) -> Case:  # fmt: skip
    """A saved page with records good, good, *bad(make), good (pages, for the one-record
    Copilot billing page; CSV rows for invoices). The file name carries the as-of day."""
    cid = f"{fmt}.{name}"

    def make(i: int = 0, **over) -> dict:
        if fmt == "saas-invoices":
            return invoice(cid, i, **over)
        return saas_record(fmt, cid, i, **over)

    def build(folder: Path) -> list[Path]:
        suffix = "csv" if fmt == "saas-invoices" else "jsonl"
        path = folder / f"{cid}.2026-10-05.{suffix}"
        if raw:
            path.write_bytes(raw(cid))
            return [path]
        records = [make(0), make(1), *bad(make), make(2)]
        if fmt == "saas-invoices":
            path.write_bytes(csv_text(records).encode())
        elif fmt == "github-copilot-billing":
            lines_file(path, [saas_page(fmt, cid, [r]) for r in records])
        else:
            lines_file(path, [saas_page(fmt, cid, records)])
        return [path]

    return Case(cid, fmt, kind, build, good, n_bad, reason)


def _saas_pages(fmt: str, cid: str, middle: bytes, *, prefix: bytes = b"") -> bytes:
    """JSON Lines: a page of two good records, `middle`, a page of one good record."""

    def page(records: list) -> bytes:
        if fmt == "github-copilot-billing":
            return b"\n".join(json.dumps(saas_page(fmt, cid, [r])).encode() for r in records)
        return json.dumps(saas_page(fmt, cid, records, total=3)).encode()

    first = page([saas_record(fmt, cid, 0), saas_record(fmt, cid, 1)])
    return prefix + first + b"\n" + middle + b"\n" + page([saas_record(fmt, cid, 2)]) + b"\n"


def _saas_common(fmt: str) -> list[Case]:
    def c(*a, **k) -> Case:
        return saas_case(fmt, *a, **k)

    return [
        c("truncated", "truncated_page_line", None, reason="invalid JSON",
          raw=lambda i: _saas_pages(fmt, i, b'{"total_seats": 3, "seats": [{"creat')),
        c("encoding", "invalid_utf8_page", None, reason="invalid JSON",
          raw=lambda i: _saas_pages(fmt, i, b'{"x": "\xff"}')),
        c("bom", "utf8_bom", None, n_bad=0,
          raw=lambda i: _saas_pages(fmt, i, b"", prefix=b"\xef\xbb\xbf").replace(b"\n\n", b"\n")),
        c("wrong_type", "page_is_a_list", None, reason="malformed page",
          raw=lambda i: _saas_pages(fmt, i, b"[1, 2]")),
        c("empty_file", "zero_bytes", None, good=0, reason="empty file", raw=lambda i: b""),
        c("unknown_column", "new_fields_kept", lambda m: [m(3, brand_new_field=1, x_more="a")],
          good=4, n_bad=0),
        c("huge_line", "huge_unknown_field", lambda m: [m(3, debug_blob="y" * HUGE)], good=4,
          n_bad=0),
    ]  # fmt: skip


def _saas_cases() -> list[Case]:
    cases = [case for fmt in SAAS if fmt != "saas-invoices" for case in _saas_common(fmt)]
    s, b, u, sl, zu, zd, inv = (lambda *a, f=f, **k: saas_case(f, *a, **k) for f in SAAS)
    cases += [
        s("missing_field", "no_created_at", lambda m: [m(9, created_at=DROP)],
          reason="missing created_at"),
        s("wrong_type", "assignee_is_text", lambda m: [m(9, assignee="bob")],
          reason="assignee: expected an object"),
        s("negative", "negative_assignee_id", lambda m: [m(9, assignee={"id": -1})],
          reason="non-negative"),
        s("magnitude", "assignee_id_1e30", lambda m: [m(9, assignee={"id": 10**30})],
          reason="out of range"),
        s("far_date", "created_1899", lambda m: [m(9, created_at="1899-01-01T00:00:00Z")],
          reason="out of range"),
        s("far_date", "cancels_in_9999", lambda m: [m(9, pending_cancellation_date="9999-12-31")],
          reason="out of range"),
        s("duplicate_id", "same_seat_twice", lambda m: [m(1)], good=4, n_bad=0),
        b("missing_field", "no_seat_breakdown", lambda m: [m(9, seat_breakdown=DROP)],
          reason="seat_breakdown is missing"),
        b("wrong_type", "total_is_text", lambda m: [m(9, seat_breakdown={"total": "ten"})],
          reason="expected an integer"),
        b("negative", "negative_total", lambda m: [m(9, seat_breakdown={"total": -3})],
          reason="non-negative"),
        b("magnitude", "total_1e30", lambda m: [m(9, seat_breakdown={"total": 10**30})],
          reason="out of range"),
        u("wrong_type", "date_is_garbage", lambda m: [m(9, date="2026-13-01")],
          reason="not a date"),
        u("missing_field", "no_amounts", lambda m: [m(9, grossAmount=DROP, netAmount=DROP)],
          reason="neither grossAmount nor netAmount"),
        u("nan_inf", "gross_nan", lambda m: [m(9, grossAmount="NaN")], reason="finite"),
        u("magnitude", "net_1e25", lambda m: [m(9, netAmount=1e25)], reason="out of range"),
        u("far_date", "date_1999", lambda m: [m(9, date="1999-12-31")], reason="out of range"),
        u("negative", "negative_net_refund_kept", lambda m: [m(3, netAmount=-0.8)], good=4,
          n_bad=0),
        sl("wrong_type", "billing_active_yes", lambda m: [m(9, billing_active="yes")],
           reason="billing_active"),
        sl("wrong_type", "info_is_text", None, good=2,
           raw=lambda i: _slack_raw(i, '"U2": "active"'), reason="is not an object"),
        sl("missing_field", "no_billing_active", lambda m: [m(9, billing_active=DROP)],
           reason="billing_active is missing"),
        sl("other", "ok_false_page", None, reason="the API reported an error",
           raw=lambda i: _saas_pages("slack-billable", i,
                                     b'{"ok": false, "error": "ratelimited"}')),
        sl("duplicate_id", "same_user_key_twice", None, good=2, n_bad=0,
           raw=lambda i: _slack_raw(i, '"U1": {"billing_active": false}')),
        zu("wrong_type", "type_is_text", lambda m: [m(9, type="abc")],
           reason="expected an integer"),
        zu("missing_field", "no_id", lambda m: [m(9, id=DROP)], reason="missing id or type"),
        zu("negative", "negative_type", lambda m: [m(9, type=-1)], reason="non-negative"),
        zu("magnitude", "type_1e30", lambda m: [m(9, type=10**30)], reason="out of range"),
        zu("far_date", "created_2150", lambda m: [m(9, created_at="2150-01-01T00:00:00Z")],
           reason="out of range"),
        zu("duplicate_id", "same_user_twice", lambda m: [m(1)], good=4, n_bad=0),
        zd("wrong_type", "date_is_garbage", lambda m: [m(9, date="yesterday")],
           reason="date"),
        zd("negative", "negative_meetings", lambda m: [m(9, meetings=-1)], reason="non-negative"),
        zd("nan_inf", "meetings_nan", lambda m: [m(9, meetings="NaN")], reason="non-negative"),
        zd("far_date", "date_2150", lambda m: [m(9, date="2150-01-01")], reason="out of range"),
        zd("missing_field", "no_date", lambda m: [m(9, date=DROP)], reason="missing date"),
        inv("missing_field", "no_vendor", lambda m: [m(9, vendor="")], reason="missing vendor"),
        inv("wrong_type", "period_month_13", lambda m: [m(9, period="2026-13")],
            reason="period"),
        inv("wrong_type", "seats_are_words", lambda m: [m(9, seats="lots")],
            reason="expected an integer"),
        inv("wrong_type", "currency_two_letters", lambda m: [m(9, currency="US")],
            reason="currency"),
        inv("negative", "negative_seats", lambda m: [m(9, seats="-1")], reason="non-negative"),
        inv("negative", "credit_amount_kept", lambda m: [m(3, amount="-40.00")], good=4,
            n_bad=0),
        inv("nan_inf", "amount_nan", lambda m: [m(9, amount="NaN")], reason="finite"),
        inv("magnitude", "amount_1e25", lambda m: [m(9, amount="1e25")], reason="out of range"),
        inv("far_date", "period_1899", lambda m: [m(9, period="1899-01")],
            reason="out of range"),
        inv("duplicate_id", "same_row_twice", lambda m: [m(1)], good=4, n_bad=0),
        inv("unknown_column", "new_column_kept", lambda m: [], good=3, n_bad=0,
            raw=lambda i: csv_text([invoice(i, n, po_number="PO-1") for n in range(3)]).encode()),
        inv("bom", "utf8_bom", lambda m: [], good=3, n_bad=0,
            raw=lambda i: b"\xef\xbb\xbf" + csv_text([invoice(i, n) for n in range(3)]).encode()),
        inv("empty_file", "zero_bytes", None, good=0, reason="empty file", raw=lambda i: b""),
        inv("missing_field", "amount_column_absent", None, good=0, reason="header lacks amount",
            raw=lambda i: csv_text([merged(invoice(i, n), {"amount": DROP}) for n in range(2)])
            .encode()),
        inv("truncated", "last_row_cut", None, good=2, reason="malformed CSV row",
            raw=lambda i: csv_text([invoice(i, n) for n in range(3)]).encode()[:-30]),
        inv("huge_line", "huge_vendor_note", lambda m: [m(3, note="x" * HUGE)], good=4,
            n_bad=0),
    ]  # fmt: skip
    return cases


def _slack_raw(cid: str, member: str) -> bytes:
    """A billableInfo page written by hand (JSON objects cannot repeat keys in a dict)."""
    return (
        '{"ok": true, "billable_info": {"U0": {"billing_active": true}, '
        + member
        + ', "U1": {"billing_active": true}}, "response_metadata": {"next_cursor": ""}}\n'
    ).encode()


# ---------------------------------------------------------------------------------------------
# the registry


def all_cases() -> list[Case]:
    """Every case, in a stable order."""
    cases = _gateway_cases()
    cases += [case for fmt in BILLING_FILES for case in _billing_file_cases(fmt)]
    cases += [case for fmt in BILLING_APIS for case in _api_cases(fmt)]
    cases += _saas_cases()
    return cases


CASES: list[Case] = all_cases()


def case_counts() -> dict[str, int]:
    """{kind: number of cases}, every kind listed (the README's summary table)."""
    counts = Counter(c.kind for c in CASES)
    return {kind: counts.get(kind, 0) for kind in KINDS}
