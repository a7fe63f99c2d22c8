"""The fast paths of the gateway and CLI formats (ingestion/formats/fast.py) against their parsers:
a line the fast path takes gives the parser's row (compared by `repr`, so 0 against 0.0 or -0.0
counts), and every line the parser would quarantine, skip or read by another rule goes to the
parser. Whole files load the same rows, quarantine rows and counts either way."""

import sys
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.formats import bimo_gateway as gateway
from ingestion.formats import cli_log, fast
from tests.conftest import source_files
from tests.parse_fast_support import DROP, VALUES, check, line, parser_row, whole_files_agree

COLUMNS = list(gateway.COLUMNS)


def record(**fields) -> dict:
    rec = {
        "schema": "bimo.gateway.v1",
        "request_id": "r-1",
        "timestamp": "2026-08-03T00:00:00.971Z",
        "duration_ms": 986,
        "provider": "openai",
        "model": "gpt-4o-mini",
        "status": "success",
        "usage": {"input_tokens": 819, "output_tokens": 66},
        "attribution": {"team": "search", "project": "p", "api_key_id": "key_1"},
    }
    rec.update(fields)
    return {k: v for k, v in rec.items() if v is not DROP}


def test_the_usual_line_takes_the_fast_path_with_the_parsers_row():
    rec = record(attempt=1, stream=False, gateway_region="eu", request={"messages": [1, 2]})
    row = check(line(rec))
    assert row is not fast.FALLBACK
    got = {k: v for k, v in zip(COLUMNS, row, strict=True) if v is not None}
    assert got == {
        "request_id": "r-1",
        "started_at": datetime(2026, 8, 3, 0, 0, 0, 971000, tzinfo=UTC),
        "duration_ms": 986,
        "provider": "openai",
        "model": "gpt-4o-mini",
        "operation": "chat",
        "status": "success",
        "input_tokens": 819,
        "output_tokens": 66,
        "team": "search",
        "project": "p",
        "api_key_id": "key_1",
        "extra": '{"attempt":1,"stream":false}',
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"request_id": ""},
        {"request_id": "None"},
        {"request_id": 12},
        {"provider": DROP},
        {"model": None},
        {"timestamp": 1785715200},  # unix seconds
        {"timestamp": "1999-12-31T23:59:59Z"},  # out of range: quarantined
        {"timestamp": "2026-08-03 00:00:00 UTC"},
        {"timestamp": "yesterday"},
        {"operation": None},
        {"operation": "None"},
        {"status": "None"},
        {"status": "timeout"},  # quarantined
        {"duration_ms": -1},
        {"duration_ms": 1.0},  # an integral float: the parser takes it
        {"duration_ms": "12"},
        {"duration_ms": True},
        {"duration_ms": 2**63},
        {"gateway_cache_hit": "True"},
        {"usage": None},
        {"usage": "many"},
        {"attribution": {"team": ""}},
        {"attribution": {"team": "None"}},
        {"attribution": {"team": 7}},
        {"big": 2**64},  # orjson reads it as a float
        {"big": -(2**63) - 1},
    ],
)
def test_lines_off_the_usual_path_go_to_the_parser(fields):
    assert check(line(record(**fields))) is fast.FALLBACK


def test_unknown_keys_that_are_not_scalars_stay_out_of_the_extra_column():
    row = check(line(record(list=[1], text="x", flag=None, n=2)))
    assert row is not fast.FALLBACK and row[COLUMNS.index("extra")] == '{"flag":null,"n":2}'


def test_what_json_spells_differently_reaches_the_same_row():
    head = b'{"request_id":"r","timestamp":"2026-08-03T00:00:00Z","provider":"a","model":"m"'
    taken = [
        head.replace(b"00:00:00Z", b"02:00:00+02:00") + b"}",  # an offset
        head.replace(b"00:00:00Z", b"00:00:00") + b"}",  # naive: UTC
        head.replace(b"T00:00:00Z", b"") + b"}",  # a day alone: its midnight, UTC
        head + b',"request_id":"s","usage":{"input_tokens":5,"input_tokens":6,"o":{"x":1}}}',
        head.replace(b'"a"', '"é"'.encode()) + b"}",  # UTF-8 beyond ASCII
        head + b',"x":1e5,"y":-0,"z":1E-999,"w":18446744073709551615,"v":"\u00e9"}',
    ]
    for raw in taken:
        assert check(raw) is not fast.FALLBACK, raw
    spelled = head.replace(b'"a"', b'"\u004eone"') + b"}"  # "None" written with an escape
    assert check(spelled) is fast.FALLBACK and parser_row(spelled) is None


def test_lines_that_are_not_plain_json_go_to_the_parser_and_are_quarantined():
    good = line(record())
    for bad in [
        good[:-1] + b',"request":"\xff\xfe"}',  # invalid UTF-8 in a value stepped over
        good[:-1] + b',"x":"\\ud800"}',
        good[:-1] + b',"x":NaN}',
        good + b" trailing",
        good[:40],
        b"[1, 2]",
        b'"text"',
        good[:-1] + b',"request":' + b"[" * 1100 + b"]" * 1100 + b"}",
    ]:
        assert check(bad) is fast.FALLBACK and parser_row(bad) is None, bad[:60]


def test_nesting_near_the_limits_is_read_alike():
    for depth in (990, 1010, 1023, 1024, 1030):
        deep = line(record())[:-1] + b',"request":' + b"[" * depth + b"]" * depth + b"}"
        check(deep)


def test_a_number_beyond_a_double_in_a_value_no_parser_reads_costs_the_request_nothing():
    huge = line(record())[:-1] + b',"request":{"n":1e999},"response":[' + b"9" * 400 + b"]}"
    assert check(huge) is not fast.FALLBACK
    assert parser_row(huge) is not None
    in_a_count = line(record())[:-1].replace(b'"input_tokens": 819', b'"input_tokens": 1e999')
    assert check(in_a_count + b"}") is fast.FALLBACK and parser_row(in_a_count + b"}") is None


def test_unknown_keys_are_learned_up_to_a_limit(monkeypatch):
    lines = fast.Lines(gateway._Gateway, gateway._PATHS, extras=True)
    monkeypatch.setattr(gateway, "fast_row", lines.row)
    keys = [f"k{i}" for i in range(fast.MAX_EXTRA_KEYS + 3)]
    for i, key in enumerate(keys):
        got = check(line(record(**{key: i})))
        assert (got is fast.FALLBACK) == (i >= fast.MAX_EXTRA_KEYS)
    assert lines.keys == keys[: fast.MAX_EXTRA_KEYS]
    assert check(line(record(k0=None, k1=2.5, k2="s"))) is not fast.FALLBACK


def test_remembered_extras_are_those_of_the_same_values_of_the_same_type(monkeypatch):
    """Values that compare equal but dump differently (0, False, 0.0, -0.0; 1, True, 1.0) each
    get their own `extra`, in any order, remembered or not, as do values of unknown keys
    learned after some were remembered; lists and objects are left out as the parser leaves
    them out."""
    lines = fast.Lines(gateway._Gateway, gateway._PATHS, extras=True)
    monkeypatch.setattr(gateway, "fast_row", lines.row)
    values = [0, False, 0.0, -0.0, 1, True, 1.0, None, "x", [1], {"a": 1}, 2**63]
    extras = []
    for value in values + values[::-1] + values:
        got = check(line(record(attempt=value, stream=True)))
        assert got is not fast.FALLBACK
        extras.append(got[COLUMNS.index("extra")])
    assert extras[:3] == ['{"attempt":0,"stream":true}', '{"attempt":false,"stream":true}',
                          '{"attempt":0.0,"stream":true}']  # fmt: skip
    assert extras[3] == '{"attempt":-0.0,"stream":true}'
    assert check(line(record(attempt=1, stream=True, region=2))) is not fast.FALLBACK
    assert check(line(record(attempt=1, stream=True))) is not fast.FALLBACK
    assert check(line(record(attempt=2**64 + 1))) is fast.FALLBACK  # beyond 64 bits: the parser


def test_remembered_extras_are_forgotten_when_the_memo_is_full(monkeypatch):
    lines = fast.Lines(gateway._Gateway, gateway._PATHS, extras=True)
    monkeypatch.setattr(gateway, "fast_row", lines.row)
    monkeypatch.setattr(fast, "EXTRAS_MEMO", 3)
    for i in range(10):
        check(line(record(attempt=i % 5)))
        assert len(lines._memo) <= 3


def test_lines_whose_unknown_keys_hold_long_texts_are_not_remembered(monkeypatch):
    lines = fast.Lines(gateway._Gateway, gateway._PATHS, extras=True)
    monkeypatch.setattr(gateway, "fast_row", lines.row)
    for text in ("x" * (fast.MEMO_TEXT + 1), "y" * 100_000):
        got = check(line(record(attempt=1, note=text)))
        assert got is not fast.FALLBACK and got[COLUMNS.index("extra")] == '{"attempt":1}'
    assert lines._memo == {}
    check(line(record(attempt=1, note="x" * fast.MEMO_TEXT)))
    assert len(lines._memo) == 1


def test_a_raised_recursion_limit_turns_the_fast_path_off(monkeypatch):
    assert fast.usable()
    monkeypatch.setattr(sys, "getrecursionlimit", lambda: 5000)
    assert not fast.usable()
    monkeypatch.undo()
    monkeypatch.setenv("BIMO_PARSE_FAST", "0")
    assert not fast.usable()


KEYS = st.sampled_from(
    [*gateway.KNOWN, "attempt", "stream", "messages", "request", "region", "x", "Team"]
)


@settings(deadline=None, max_examples=600)
@given(
    changes=st.dictionaries(KEYS, VALUES | st.just(DROP), max_size=3),
    usage=st.dictionaries(
        st.sampled_from(["input_tokens", "output_tokens", "reasoning_tokens", "z"]),
        VALUES,
        max_size=3,
    ),
)
def test_any_record_gets_the_parsers_row_or_goes_to_it(changes, usage):
    rec = record(**changes)
    if isinstance(rec.get("usage"), dict):
        rec["usage"] = {**rec["usage"], **usage}
    check(line(rec))


def cli_record(**fields) -> dict:
    rec = {
        "type": "usage",
        "message_id": "msg_1",
        "ts": "2026-08-03T16:00:26.398-08:00",
        "session_id": "s",
        "developer": "maya@example.com",
        "tool": "claude-code",
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "usage": {"input_tokens": 90, "cache_read_input_tokens": 99954, "output_tokens": 564},
        "cost_usd": 0.05161995,
        "duration_ms": 17171,
        "is_error": False,
        "prompt": "Explain line 156.",
    }
    rec.update(fields)
    return {k: v for k, v in rec.items() if v is not DROP}


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "session_start"},
        {"type": None},
        {"message_id": "None"},
        {"cost_usd": "0.1"},
        {"cost_usd": -0.5},
        {"usage": []},
        {"usage": None},
        {"is_error": "false"},
    ],
)
def test_cli_lines_off_the_usual_path_go_to_the_parser(fields):
    assert check(line(cli_record(**fields)), cli_log) is fast.FALLBACK


def test_a_cli_cost_that_is_a_json_integer_is_the_parsers_float():
    for cost in (0, 3, -0, 10**30, 2**64 + 1):
        row = check(line(cli_record(cost_usd=cost)), cli_log)
        assert row is not fast.FALLBACK and type(row[cli_log_column("cost_usd")]) is float
    negative_zero = line(cli_record())[:-1].replace(b'"cost_usd": 0.05161995', b'"cost_usd": -0.0')
    check(negative_zero + b"}", cli_log)


def cli_log_column(name: str) -> int:
    return list(cli_log.COLUMNS).index(name)


CLI_KEYS = st.sampled_from(
    ["type", "message_id", "ts", "provider", "model", "team", "usage", "cost_usd", "is_error", "z"]
)


@settings(deadline=None, max_examples=400)
@given(changes=st.dictionaries(CLI_KEYS, VALUES | st.just(DROP), max_size=3))
def test_any_cli_record_gets_the_parsers_row_or_goes_to_it(changes):
    check(line(cli_record(**changes)), cli_log)


@pytest.mark.parametrize(
    ("source", "fields"),
    [
        ("bimo-gateway", ["duration_ms", "timestamp", "model", "status", "operation"]),
        ("cli-log", ["duration_ms", "ts", "model", "type", "cost_usd"]),
    ],
)
def test_whole_files_load_the_same_either_way(demo_dir, tmp_path, monkeypatch, source, fields):
    whole_files_agree(source_files(demo_dir)[source], tmp_path, monkeypatch, source, fields)
