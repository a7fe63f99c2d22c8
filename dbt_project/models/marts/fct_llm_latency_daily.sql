{{
    config(
        materialized='incremental',
        incremental_strategy='window',
        unique_key='usage_date',
        on_schema_change='fail',
        full_refresh=window_full_refresh(),
    )
}}

-- Request latency as a histogram per day, so percentiles over any filter of days, providers,
-- models, projects, teams and environments come from a small table instead of every request.
-- Buckets are logarithmic, 20 per factor e: bucket b holds durations in [exp(b / 20),
-- exp((b + 1) / 20)) ms and `latency_ms` is its geometric middle, so a percentile read from the
-- histogram is within ±2.5 % of the exact one. Durations under 1 ms count as 1 ms; requests
-- with no duration are left out.

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    where duration_ms is not null
    {% if is_incremental() -%}
    and {{ in_window('request_date') }}
    {%- endif %}
)

select
    request_date as usage_date,
    provider,
    model,
    project,
    team,
    environment,
    source_tag,
    cast(floor(ln(greatest(duration_ms, 1)) * 20) as integer) as latency_bucket,
    exp((latency_bucket + 0.5) / 20) as latency_ms,
    count(*) as requests
from requests
group by all
