-- Every (provider, model) Bimo needs a price for: models in the request logs and models the
-- providers bill for (usage APIs, cost line items), with the days they appear on.
--
-- A windowed run reads only its window's requests, and keeps every key and day the last build
-- found: its window changes no other day's requests, so the keys can only gain a model or a day
-- (a key whose requests a re-loaded day no longer has stays, with its days: it prices no request
-- and costs a few more price rows; the next full build drops it). Reading every request ever
-- logged took 2.2 s of a one-day run at 50M requests.
{%- set previous = load_relation(this) if (execute and build_window()) else none %}
with

requests as (
    select provider, prices_provider_id, pricing_model, request_date as day
    from {{ ref('int_llm_requests_unioned') }}
    where pricing_model is not null
    {%- if previous is not none %}
        and {{ request_in_window() }}
    {%- endif %}
),
{%- if previous is not none %}

earlier as (
    select provider, prices_provider_id, pricing_model, first_day as day from {{ previous }}
    union all
    select provider, prices_provider_id, pricing_model, last_day as day from {{ previous }}
),
{%- endif %}

billed_usage as (
    select
        usage.provider,
        coalesce(aliases.prices_provider_id, usage.provider) as prices_provider_id,
        usage.model as pricing_model,
        usage.usage_date as day
    from {{ ref('stg_billing__ai_usage') }} as usage
    left join {{ ref('provider_aliases') }} as aliases on usage.provider = aliases.alias
    where usage.model is not null
),

billed_line_items as (
    select
        items.x_provider as provider,
        coalesce(aliases.prices_provider_id, items.x_provider) as prices_provider_id,
        items.model as pricing_model,
        items.charge_date as day
    from {{ ref('stg_billing__line_items') }} as items
    left join {{ ref('provider_aliases') }} as aliases on items.x_provider = aliases.alias
    where items.model is not null and items.x_service_category = 'ai'
),

unioned as (
    select * from requests
    union all
    {%- if previous is not none %}
    select * from earlier
    union all
    {%- endif %}
    select * from billed_usage
    union all
    select * from billed_line_items
),

keys as (
    select
        provider,
        prices_provider_id,
        pricing_model,
        min(day) as first_day,
        max(day) as last_day
    from unioned
    group by provider, prices_provider_id, pricing_model
)

select * from keys
