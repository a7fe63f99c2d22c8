"""The OTel span parser's faster code gives what it gave before (tests/otel_reference.py) for
any span and resource: the same row, value for value and type for type, the same skip, the same
error. Values cover every OTLP `AnyValue` shape, empty, "None" and mistyped ones, attributes
missing, repeated or malformed, and span attributes that hide the resource's."""

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.formats import otel_genai
from ingestion.formats.common import BadRecord
from tests import otel_reference

READ = [
    "gen_ai.provider.name", "gen_ai.system", "gen_ai.request.model", "gen_ai.response.model",
    "gen_ai.response.id", "gen_ai.operation.name", "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
    "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.reasoning.output_tokens", "gen_ai.response.time_to_first_chunk", "error.type",
    "service.name", "deployment.environment.name", "deployment.environment", "bimo.team",
    "bimo.project", "bimo.feature", "bimo.api_key_id", "user.id", "enduser.id",
]  # fmt: skip
KEYS = st.sampled_from([*READ, "http.method", "gen_ai.other", "gen_ai", "service"])
SCALARS = st.one_of(
    st.sampled_from(["", "None", "openai", "prod", "12", "1.5", "x" * 3]),
    st.text(max_size=6),
    st.integers(-5, 2**63 + 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
ANY_VALUE = st.recursive(
    st.one_of(
        st.builds(lambda v: {"stringValue": v}, SCALARS),
        st.builds(lambda v: {"intValue": v}, st.one_of(st.integers(-5, 10**6).map(str), SCALARS)),
        st.builds(lambda v: {"doubleValue": v}, SCALARS),
        st.builds(lambda v: {"boolValue": v}, SCALARS),
        st.dictionaries(
            st.sampled_from(["stringValue", "intValue", "doubleValue", "boolValue", "bytesValue"]),
            SCALARS,
            max_size=3,
        ),
        SCALARS,
    ),
    lambda inner: st.one_of(
        st.builds(lambda vs: {"arrayValue": {"values": vs}}, st.lists(inner, max_size=3)),
        st.builds(lambda vs: {"arrayValue": vs}, st.none()),
        st.builds(
            lambda kvs: {"kvlistValue": {"values": kvs}},
            st.lists(st.builds(lambda k, v: {"key": k, "value": v}, KEYS, inner), max_size=3),
        ),
    ),
    max_leaves=4,
)
USUAL = st.one_of(
    st.builds(lambda v: {"stringValue": v}, st.sampled_from(["openai", "prod", "gpt-4o", "7"])),
    st.builds(lambda v: {"intValue": v}, st.integers(0, 10**6).map(str)),
    st.builds(lambda v: {"intValue": v}, st.integers(0, 10**6)),
    st.builds(lambda v: {"doubleValue": v}, st.sampled_from([0.25, 1.0, 3])),
    st.sampled_from([{"stringValue": ""}, {"stringValue": "None"}, {"boolValue": True}, None]),
)
ATTRIBUTE = st.one_of(
    st.builds(lambda k, v: {"key": k, "value": v}, KEYS, USUAL),
    st.builds(lambda k, v: {"key": k, "value": v}, KEYS, USUAL),
    st.builds(lambda k, v: {"key": k, "value": v}, KEYS, ANY_VALUE),
    st.builds(lambda k: {"key": k}, KEYS),
    st.builds(lambda k, v: {"key": k, "value": v}, st.one_of(st.none(), st.integers()), ANY_VALUE),
    SCALARS,
)
GEN_AI = {"key": "gen_ai.system", "value": {"stringValue": "openai"}}
TYPICAL = st.dictionaries(st.sampled_from(READ), USUAL, min_size=3).map(
    lambda attrs: [GEN_AI, *({"key": k, "value": v} for k, v in attrs.items())]
)
ATTRIBUTES = st.one_of(
    TYPICAL,
    st.tuples(TYPICAL, st.lists(ATTRIBUTE, max_size=3)).map(lambda t: t[0] + t[1]),
    st.tuples(st.lists(ATTRIBUTE, max_size=3), TYPICAL).map(lambda t: t[0] + t[1]),
    st.lists(ATTRIBUTE, max_size=12).map(lambda attrs: [GEN_AI, *attrs]),
    st.lists(ATTRIBUTE, max_size=12),
    SCALARS,
)
NANOS = st.one_of(
    st.sampled_from(["1762000000000000000", "1762000001500000000", 1762000000000000000]),
    st.sampled_from(["", "0", 0, "soon", "1e18", None, 10**30]),
)
USUAL_SPAN = st.fixed_dictionaries(
    {
        "traceId": st.just("a" * 32),
        "spanId": st.just("b" * 16),
        "startTimeUnixNano": st.just("1762000000000000000"),
        "attributes": ATTRIBUTES,
    },
    optional={
        "endTimeUnixNano": NANOS,
        "status": st.builds(lambda c: {"code": c}, st.sampled_from([0, 1, 2, "2", "x"])),
    },
)
WILD_SPAN = st.fixed_dictionaries(
    {},
    optional={
        "traceId": st.one_of(st.just("a" * 32), SCALARS),
        "spanId": st.one_of(st.just("b" * 16), SCALARS),
        "startTimeUnixNano": NANOS,
        "endTimeUnixNano": NANOS,
        "status": st.one_of(
            st.builds(lambda c: {"code": c}, st.sampled_from([0, 1, 2, "2", "STATUS_CODE_ERROR"])),
            SCALARS,
        ),
        "attributes": ATTRIBUTES,
    },
)
SPAN = st.one_of(USUAL_SPAN, USUAL_SPAN, USUAL_SPAN, WILD_SPAN)


def outcome(module, span: dict, resource: object) -> tuple:
    """The span's row (each value with its type), skip or error, by `module`'s functions."""
    try:
        res = module._attrs(resource)
        out = module._span_row(span, res)
    except BadRecord as exc:
        return ("bad", str(exc))
    if isinstance(out, dict):
        return ("row", sorted((k, repr(v)) for k, v in out.items()))
    return ("skip", out.why)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(span=SPAN, resource=ATTRIBUTES)
def test_span_rows_are_the_reference_parsers(span, resource):
    assert outcome(otel_genai, span, resource) == outcome(otel_reference, span, resource)


def test_a_span_attribute_hides_the_resources_even_when_empty():
    """The resource's service.name is the project unless the span sets bimo.project; a span's
    own null or "" service.name hides the resource's (and then the project is not picked)."""
    resource = [{"key": "service.name", "value": {"stringValue": "helpdesk"}}]

    def span(**attrs):
        return {
            "traceId": "a" * 32,
            "spanId": "b" * 16,
            "startTimeUnixNano": "1762000000000000000",
            "attributes": [{"key": "gen_ai.system", "value": {"stringValue": "openai"}}]
            + [{"key": k, "value": v} for k, v in attrs.items()],
        }

    rows = {}
    for name, s in {
        "resource": span(),
        "span": span(**{"service.name": {"stringValue": "billing"}}),
        "empty": span(**{"service.name": {"stringValue": ""}}),
        "null": span(**{"service.name": None}),
    }.items():
        kind, row = outcome(otel_genai, s, resource)
        assert kind == "row" and (kind, row) == outcome(otel_reference, s, resource)
        rows[name] = dict(row)
    assert rows["resource"]["project"] == rows["resource"]["service_name"] == "'helpdesk'"
    assert rows["span"]["project"] == "'billing'"
    assert rows["empty"]["project"] == rows["null"]["project"] == "None"
    assert rows["resource"]["start_time"] == repr(datetime(2025, 11, 1, 12, 26, 40, tzinfo=UTC))
