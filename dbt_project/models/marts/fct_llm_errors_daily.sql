{{
    config(
        materialized='incremental',
        incremental_strategy='window',
        unique_key='usage_date',
        on_schema_change='fail',
        full_refresh=window_full_refresh(),
    )
}}

-- Failed requests per day, error type and HTTP status (with the dashboard's filter columns), so
-- the error breakdown reads a small table instead of every request.

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    where is_error
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
    error_type,
    http_status,
    count(*) as requests
from requests
group by all
