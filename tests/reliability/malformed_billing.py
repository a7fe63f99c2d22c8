"""Malformed billing inputs: export files of the five clouds (FOCUS, AWS CUR, Azure, GCP, OCI —
CSV, or JSON Lines for GCP, refused whole with a `ValueError` when structurally broken) and
saved pages of the four AI-provider cost and usage reports (OpenAI, Anthropic). Good rows and
results of each format, then the cases, each a bad row or result between good ones or a whole
raw file."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

from tests.billing.test_apis_anthropic import bucket as a_bucket
from tests.billing.test_apis_anthropic import cost as a_cost
from tests.billing.test_apis_anthropic import usage_result as a_usage
from tests.billing.test_apis_http import envelope
from tests.billing.test_apis_openai import bucket as o_bucket
from tests.billing.test_apis_openai import cost as o_cost
from tests.reliability.malformed_common import (
    BILLING_APIS,
    BILLING_FILES,
    DROP,
    HUGE,
    Case,
    csv_text,
    lines_file,
    merged,
)

# ---------------------------------------------------------------------------------------------
# good rows and results


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


# ---------------------------------------------------------------------------------------------
# case builders: a bad row or result between good ones


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


def _file_cases(fmt: str) -> list[Case]:
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


def billing_cases() -> list[Case]:
    """The export-file cases of every cloud, then the saved-page cases of every API report."""
    cases = [case for fmt in BILLING_FILES for case in _file_cases(fmt)]
    cases += [case for fmt in BILLING_APIS for case in _api_cases(fmt)]
    return cases
