{{
    config(
        materialized='incremental',
        incremental_strategy='window',
        unique_key='request_date',
        on_schema_change='fail',
        full_refresh=window_full_refresh(),
    )
}}

-- The requests' estimated cost per day × every dimension fct_daily_cost and fct_reconciliation
-- group them by (both sum these rows: about 10,000 at 50M requests). Rebuilt by window, like
-- fct_llm_requests: those two tables are rebuilt in full on every run, and read every request
-- ever logged when they summed fct_llm_requests themselves (3.5 s of a one-day run at 50M).
-- Exact: the cost is a decimal sum, so summing these sums again gives the same amounts.

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    {% if is_incremental() -%}
    where {{ in_window('request_date') }}
    {%- endif %}
),

daily as (
    select
        request_date,
        source_tag,
        provider,
        service,
        model,
        catalogue_model_id,
        project,
        team,
        environment,
        feature,
        api_key_id,
        currency,
        sum(estimated_cost_usd) as estimated_cost_usd,
        count(*) as requests,
        count(*) filter (where pricing_status = 'unpriced') as unpriced_requests,
        cast(sum(total_tokens) as bigint) as total_tokens
    from requests
    group by
        request_date, source_tag, provider, service, model, catalogue_model_id, project, team,
        environment, feature, api_key_id, currency
)

select * from daily
