"""LiteLLM's fast path against its parser, and the JSON array reader that hands it each
element's bytes (`readers.iter_lines`) against the one that decodes them (`iter_records`)."""

import json
import sys

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion import readers
from ingestion.formats import fast, litellm
from ingestion.readers import iter_lines, iter_records, json_line
from tests.conftest import source_files
from tests.parse_fast_support import DROP, VALUES, check, line, whole_files_agree

ELEMENTS = [
    b'{"a": 1}',
    b'{"a": "\xc3\xa9"}',  # UTF-8 beyond ASCII
    b'{"a": "\xff"}',  # invalid UTF-8
    b'{"a": 1e999}',  # beyond a double
    b'{"a": ' + b"9" * 30 + b"}",
    b'{"a": "\\ud800"}',  # a lone surrogate
    b'{"a": NaN}',
    b'{"a": {"b": [1, 2, {"c": "},{"}]}}',  # a boundary lookalike in a string
    b'{"a": }',  # malformed
    b'{"a": "x"',  # cut short
]


def records_via_lines(path):
    return [(pos, json_line(r) if type(r) is bytes else r) for pos, r in iter_lines(path)]


def same(a: list, b: list) -> bool:
    """`a == b` for values nested deeper than Python's recursion limit lets `==` compare."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + 3000)
    try:
        return a == b
    finally:
        sys.setrecursionlimit(limit)


@settings(deadline=None, max_examples=300)
@given(
    picks=st.lists(st.sampled_from(range(len(ELEMENTS))), max_size=12),
    block=st.sampled_from([16, 64, 2**20]),
    tail=st.sampled_from([b"]", b"]\n", b"", b"] x", b"]]"]),
)
def test_an_arrays_elements_as_bytes_decode_to_what_the_decoding_reader_reads(
    tmp_path_factory, picks, block, tail
):
    path = tmp_path_factory.mktemp("arrays") / "a.json"
    path.write_bytes(b"[" + b",\n".join(ELEMENTS[i] for i in picks) + tail)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readers, "ARRAY_BLOCK_BYTES", block)  # many blocks, many boundaries
        # Hypothesis raises Python's recursion limit, which turns msgspec's split off (it could
        # then nest deeper than orjson): on here, and nesting tested apart, at the usual limit.
        patch.setattr(readers, "msgspec_nests_less", lambda: True)
        assert records_via_lines(path) == list(iter_records(path))


@pytest.mark.parametrize("depth", [900, 990, 1000, 1010, 1023, 1024, 1030])
@pytest.mark.parametrize("huge", [b"1", b"1e999"])
def test_nesting_near_the_limits_reads_alike(tmp_path, depth, huge):
    assert readers.msgspec_nests_less()
    deep = b'{"a": ' + b"[" * depth + b"]" * depth + b', "n": ' + huge + b"}"
    path = tmp_path / "a.json"
    path.write_bytes(b'[{"a": ' + huge + b"}, " + deep + b"]")
    assert same(records_via_lines(path), list(iter_records(path)))
    path.write_bytes(deep + b"\n")
    assert same(records_via_lines(path), list(iter_records(path)))


def test_a_number_beyond_a_double_reads_as_inf_with_orjsons_nesting_limit():
    assert readers.loads(b'{"a": [1e999, -1e999, 123456789012345678901234567890]}') == {
        "a": [float("inf"), float("-inf"), 1.2345678901234568e29]
    }
    for text in [b'{"a": 1e999, "b": NaN}', b'{"a": 1e999, "b": "\\ud800"}',
                 b'{"a": 1e999, "b": ' + b"[" * 1024 + b"]" * 1024 + b"}"]:  # fmt: skip
        with pytest.raises(orjson.JSONDecodeError, match="infinity"):
            readers.loads(text)
    assert readers.loads(b'{"a": 1e999, "b": ' + b"[" * 1023 + b"]" * 1023 + b"}")["a"] > 0


def test_a_valid_arrays_elements_come_back_as_their_bytes(tmp_path):
    path = tmp_path / "a.json"
    path.write_bytes(b'[{"a": 1},\n {"b": [2, {"c": 3}]}]')
    assert list(iter_lines(path)) == [(1, b'{"a": 1}'), (2, b'{"b": [2, {"c": 3}]}')]


def spend(**fields) -> dict:
    metadata = {
        "user_api_key_alias": "growth-leads-prod",
        "user_api_key_team_id": "t-1",
        "user_api_key_team_alias": "growth",
        "spend_logs_metadata": {"project": "lead-scoring", "feature": "classify"},
        "usage_object": {
            "completion_tokens": 9,
            "completion_tokens_details": {"reasoning_tokens": 0},
            "prompt_tokens_details": {"cached_tokens": 12, "audio_tokens": None},
        },
    }
    rec = {
        "request_id": "chatcmpl-1",
        "call_type": "acompletion",
        "api_key": "5f0c",
        "spend": 0.0002055,
        "total_tokens": 619,
        "prompt_tokens": 610,
        "completion_tokens": 9,
        "startTime": "2026-08-04 00:00:06.596776",
        "endTime": "2026-08-04 00:00:07.051776",
        "completionStartTime": "2026-08-04 00:00:07.051776",
        "request_duration_ms": 455,
        "model": "gemini-2.5-flash",
        "custom_llm_provider": "gemini",
        "user": "",
        "metadata": json.dumps(metadata),
        "cache_hit": "False",
        "request_tags": json.dumps(["project:lead-scoring", "environment:prod"]),
        "team_id": "",
        "end_user": "",
        "status": "success",
        "messages": {},
        "response": {},
    }
    rec.update(fields)
    return {k: v for k, v in rec.items() if v is not DROP}


def test_the_usual_record_takes_the_fast_path_with_the_parsers_row():
    row = check(line(spend()), litellm)
    assert row is not fast.FALLBACK
    got = dict(zip(litellm.COLUMNS, row, strict=True))
    assert (got["user_id"], got["team_id"], got["cache_read_input_tokens"]) == (None, "t-1", 12)
    assert (got["project"], got["environment"], got["cache_hit"]) == ("lead-scoring", "prod", False)


def meta(**fields) -> str:
    return json.dumps({"usage_object": {"cache_read_input_tokens": 3}, **fields})


@pytest.mark.parametrize(
    "fields",
    [
        {"request_id": "None"},
        {"request_id": 5},
        {"startTime": "None"},
        {"startTime": DROP},
        {"endTime": "soon"},
        {"cache_hit": "maybe"},
        {"cache_hit": 1},
        {"spend": "0.1"},
        {"user": 7},
        {"metadata": "{not json"},
        {"metadata": "[1]"},
        {"metadata": {"user_api_key_alias": "a"}},
        {"metadata": meta(spend_logs_metadata="x")},
        {"metadata": meta(user_api_key_alias=5)},
        {"metadata": meta(usage_object=[])},
        {"metadata": meta(usage_object={"prompt_tokens_details": "x"})},
        {"metadata": meta(usage_object={"cache_read_input_tokens": "3"})},
        {"metadata": '{"usage_object": {"cache_read_input_tokens": 1e999}}'},
        {"metadata": '{"a": ' + "[" * 1100 + "]" * 1100 + "}"},
    ],
)
def test_records_off_the_usual_path_go_to_the_parser(fields):
    assert check(line(spend(**fields)), litellm) is fast.FALLBACK


@pytest.mark.parametrize(
    "fields",
    [
        {"metadata": ""},
        {"metadata": "  "},
        {"metadata": DROP},
        {"metadata": meta(spend_logs_metadata={"project": "None", "feature": ""})},
        {"metadata": meta(usage_object=None)},
        {
            "metadata": meta(
                usage_object={
                    "cache_read_input_tokens": 3,
                    "prompt_tokens_details": {"cached_tokens": 12},
                    "completion_tokens_details": {"reasoning_tokens": 4},
                }
            )
        },
        {"metadata": '{"unread": 1e999, "user_api_key_alias": "a"}'},
        {"request_tags": ["project:a", 5, "feature: b ", "nocolon"]},
        {"request_tags": "not json"},
        {"request_tags": '["project:"]'},
        {"cache_hit": "TRUE"},
        {"cache_hit": "None"},
        {"cache_hit": True},
        {"spend": 3},
        {"spend": -0.0},
        {"startTime": "2026-08-04T00:00:06+02:00"},
        {"startTime": "2026-08-04"},
        {"endTime": ""},
    ],
)
def test_what_the_parser_reads_by_its_rules_the_fast_path_reads_alike(fields):
    assert check(line(spend(**fields)), litellm) is not fast.FALLBACK


LITELLM_KEYS = st.sampled_from(
    [*("request_id", "startTime", "endTime", "spend", "user", "team_id", "cache_hit"),
     *("metadata", "request_tags", "prompt_tokens", "model", "messages", "z")]
)  # fmt: skip
META_KEYS = st.sampled_from(
    ["user_api_key_alias", "user_api_key_team_id", "spend_logs_metadata", "usage_object", "q"]
)


@settings(deadline=None, max_examples=500)
@given(
    changes=st.dictionaries(LITELLM_KEYS, VALUES | st.just(DROP), max_size=3),
    meta_changes=st.dictionaries(META_KEYS, VALUES, max_size=2),
)
def test_any_litellm_record_gets_the_parsers_row_or_goes_to_it(changes, meta_changes):
    rec = spend(**changes)
    if meta_changes and isinstance(rec.get("metadata"), str):
        rec["metadata"] = json.dumps({**json.loads(spend()["metadata"]), **meta_changes})
    check(line(rec), litellm)


def test_whole_files_load_the_same_either_way(demo_dir, tmp_path, monkeypatch):
    fields = ["startTime", "spend", "cache_hit", "user", "metadata"]
    whole_files_agree(source_files(demo_dir)["litellm"], tmp_path, monkeypatch, "litellm", fields)
