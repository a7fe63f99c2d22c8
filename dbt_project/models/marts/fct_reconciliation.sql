-- prod estimates (gateway logs × catalogue prices) vs billing actuals (cost APIs, cloud AI lines),
-- per provider × service × model × day, per provider × day (service and model NULL = the whole
-- provider), and per month.
--
-- Services are matched apart, because bills keep them apart: the logs call Gemini API and Vertex
-- AI traffic both `google` (seed provider_aliases gives each request its service), while GCP
-- bills them as two services, often from different projects. A bill line's service is the seed
-- service of that name for its provider, else the provider's own service (the seed row whose
-- alias is the provider). Google lines that carry no model get it from the SKU description
-- ("Gemini 2.5 Flash Input Text Tokens"); their token quantities are billed tokens, like the
-- usage APIs'.
--
-- The variance (billing − prod) is split into parts that add up to it exactly (DECIMAL):
--   unlogged        billed tokens beyond the prod and dev logs, at the prod logs' average price
--                   (at the billed tokens' list price where prod logged nothing); negative when
--                   fewer tokens were billed than prod logged. With no billed token counts: the
--                   billed usage left after dev tools where prod logged nothing, else 0.
--   dev_tools       billed usage of developers' CLI tools (source tag `dev`: Claude Code, Codex
--                   CLI), which call the same provider accounts but are not in the prod estimate:
--                   the dev-logged tokens that fit in the billed tokens beyond the prod-logged
--                   ones, at the dev logs' average price; with no billed token counts, the dev
--                   estimate up to the billed usage beyond the prod estimate. It is never negative
--                   and never more than the dev logs hold, so it takes only billed usage the dev
--                   logs can account for: it never turns unlogged negative, and usage billed
--                   beyond both logs stays unlogged. (Bills do not say which key made a call: dev
--                   traffic paid elsewhere, e.g. on a subscription plan, can still take up to its
--                   own volume of really unlogged usage.)
--   token_category  list value of the billed tokens minus the estimate, dev tools and unlogged
--   price           billed usage minus the list value of the billed tokens (discounts, rate cards)
--   credits_tax_fees  credits, tax, purchases and adjustments (non-Usage rows)
--   fx              the currency-conversion part of non-USD rows
--   unexplained     the rest (after rounding every part to 12 decimals); non-zero only where no
--                   billed token counts split the usage difference.
-- Only services with billing data, and only days inside each one's billed range: a service whose
-- bill is not loaded (Gemini API traffic when only Vertex AI is billed) is not compared.
with

-- the requests summed per day and dimension (fct_llm_cost_daily), not every request again
requests as (
    select * from {{ ref('fct_llm_cost_daily') }} where source_tag in ('prod', 'dev')
),

items as (
    select * from {{ ref('fct_cost_line_items') }} where x_service_category = 'ai'
),

usage as (
    select * from {{ ref('stg_billing__ai_usage') }}
),

aliases as (
    select * from {{ ref('provider_aliases') }}
),

model_ids as (
    select * from {{ ref('int_model_catalogue_ids') }}
),

list_prices as (
    select * from {{ ref('int_llm_prices') }} where priority = 1 and tier_start_tokens = 0
),

own_services as (
    select provider, service from aliases where alias = provider
),

seed_services as (
    select distinct provider, service from aliases
),

logged_daily as (
    select
        requests.request_date as day,
        requests.provider,
        coalesce(requests.service, own_services.service, requests.provider) as service,
        coalesce(requests.catalogue_model_id, requests.model) as model,
        coalesce(sum(requests.estimated_cost_usd) filter (where requests.source_tag = 'prod'), 0)
            as prod_usd,
        cast(coalesce(sum(requests.requests) filter (where requests.source_tag = 'prod'), 0)
            as bigint) as prod_requests,
        coalesce(sum(requests.total_tokens) filter (where requests.source_tag = 'prod'), 0)
            as prod_tokens,
        coalesce(sum(requests.estimated_cost_usd) filter (where requests.source_tag = 'dev'), 0)
            as dev_usd,
        coalesce(sum(requests.total_tokens) filter (where requests.source_tag = 'dev'), 0)
            as dev_tokens
    from requests
    left join own_services on requests.provider = own_services.provider
    group by 1, 2, 3, 4
),

lines as (
    select
        items.*,
        coalesce(seed_services.service, own_services.service, items.service_name, items.x_provider)
            as service,
        -- the words before the first that is not part of a model name: "Gemini 2.5 Flash Input
        -- Text Tokens", "Generate content input token count Gemini 1.5 Flash short input text"
        case
            when items.x_provider = 'google' and items.x_model_key is null
                then nullif(replace(regexp_extract(
                    lower(items.charge_description),
                    '\b((?:gemini|gemma)[ -]\d[a-z0-9. -]*?)(?:\s+(?:cached|cache|input|output|'
                    || 'text|image|audio|video|tokens?|characters?|batch|long|short|thinking|'
                    || 'predictions?)\b|\s*$)',
                    1
                ), ' ', '-'), '')
        end as sku_model,
        case
            when items.consumed_unit ilike 'token%' then coalesce(
                items.token_type,
                case
                    when items.charge_description ilike '%cache%' then 'cache_read'
                    when items.charge_description ilike '%input%' then 'input_uncached'
                    when items.charge_description ilike '%output%' then 'output'
                end
            )
        end as sku_token_type,
        case
            when items.consumed_unit ilike 'token%'
                then cast(round(items.consumed_quantity) as bigint)
        end as sku_tokens
    from items
    left join seed_services
        on items.x_provider = seed_services.provider
        and items.service_name = seed_services.service
    left join own_services on items.x_provider = own_services.provider
),

billed_range as (
    select
        x_provider as provider,
        service,
        min(charge_date) as first_day,
        max(charge_date) as last_day
    from lines
    group by 1, 2
),

billing_daily as (
    select
        lines.charge_date as day,
        lines.x_provider as provider,
        lines.service,
        coalesce(lines.x_model_key, sku_ids.catalogue_model_id, lines.sku_model) as model,
        sum(lines.cost_usd) filter (where lines.charge_category = 'Usage') as usage_usd,
        sum(lines.cost_usd) filter (where lines.charge_category <> 'Usage') as other_usd,
        sum(lines.cost_usd - lines.billed_cost) filter (
            where lines.charge_category = 'Usage' and lines.billing_currency <> 'USD'
        ) as fx_usage_usd,
        sum(lines.cost_usd - lines.billed_cost) filter (
            where lines.charge_category <> 'Usage' and lines.billing_currency <> 'USD'
        ) as fx_other_usd,
        count(*) as billing_line_items
    from lines
    left join model_ids as sku_ids
        on lines.x_provider = sku_ids.provider and lines.sku_model = sku_ids.model_ref
    group by 1, 2, 3, 4
),

api_tokens as (
    select
        usage.usage_date as day,
        usage.provider,
        own_services.service,
        usage.model as model_ref,
        usage.input_uncached_tokens as input_uncached,
        usage.cache_read_tokens as cache_read,
        usage.cache_write_tokens as cache_write,
        usage.output_tokens as output
    from usage
    left join own_services on usage.provider = own_services.provider
),

-- billed tokens by type: the usage APIs', and the token quantities of Google's model SKUs (a line
-- without a count or a type leaves its model × day without a list value)
token_lines as (
    select day, provider, coalesce(service, provider) as service, model_ref, token_type, tokens
    from api_tokens
    unpivot (tokens for token_type in (input_uncached, cache_read, cache_write, output))
    union all
    select charge_date, x_provider, service, sku_model, sku_token_type, sku_tokens
    from lines
    where sku_model is not null and charge_category = 'Usage'
),

priced_tokens as (
    select
        token_lines.*,
        case token_lines.token_type
            when 'input_uncached' then prices.input_per_mtok
            when 'cache_read' then prices.cache_read_per_mtok
            when 'cache_write' then prices.cache_write_per_mtok
            when 'output' then prices.output_per_mtok
        end as per_mtok
    from token_lines
    left join list_prices as prices
        on token_lines.provider = prices.provider
        and token_lines.model_ref = prices.model_ref
        and token_lines.day >= prices.valid_from
        and (prices.valid_to is null or token_lines.day < prices.valid_to)
),

usage_daily as (
    select
        priced_tokens.day,
        priced_tokens.provider,
        priced_tokens.service,
        coalesce(model_ids.catalogue_model_id, priced_tokens.model_ref) as model,
        sum(priced_tokens.tokens) as billed_tokens,
        case
            when bool_and(
                priced_tokens.tokens is not null
                and (priced_tokens.tokens = 0 or priced_tokens.per_mtok is not null)
            ) then sum(
                priced_tokens.tokens * priced_tokens.per_mtok * cast(0.000001 as decimal(7, 6))
            )
        end as billed_tokens_list_usd
    from priced_tokens
    left join model_ids
        on priced_tokens.provider = model_ids.provider
        and priced_tokens.model_ref = model_ids.model_ref
    group by 1, 2, 3, 4
),

keys as (
    select day, provider, service, model from logged_daily where prod_requests > 0
    union
    select day, provider, service, model from billing_daily
    union
    select day, provider, service, model from usage_daily
),

daily as (
    select
        keys.day,
        keys.provider,
        keys.service,
        keys.model,
        coalesce(logged_daily.prod_usd, 0) as prod_usd,
        coalesce(logged_daily.dev_usd, 0) as dev_usd,
        coalesce(billing_daily.usage_usd, 0) as usage_usd,
        coalesce(billing_daily.other_usd, 0) as other_usd,
        coalesce(billing_daily.fx_usage_usd, 0) as fx_usage_usd,
        coalesce(billing_daily.fx_other_usd, 0) as fx_other_usd,
        usage_daily.billed_tokens is not null and usage_daily.billed_tokens_list_usd is not null
            as has_usage,
        coalesce(usage_daily.billed_tokens, 0) as billed_tokens,
        coalesce(usage_daily.billed_tokens_list_usd, 0) as list_usd,
        coalesce(logged_daily.prod_tokens, 0) as prod_tokens,
        coalesce(logged_daily.dev_tokens, 0) as dev_tokens,
        coalesce(logged_daily.prod_requests, 0) as prod_requests,
        coalesce(billing_daily.billing_line_items, 0) as billing_line_items
    from keys
    inner join billed_range
        on keys.provider = billed_range.provider
        and keys.service = billed_range.service
        and keys.day between billed_range.first_day and billed_range.last_day
    left join logged_daily
        on keys.day = logged_daily.day and keys.provider = logged_daily.provider
        and keys.service = logged_daily.service
        and keys.model is not distinct from logged_daily.model
    left join billing_daily
        on keys.day = billing_daily.day and keys.provider = billing_daily.provider
        and keys.service = billing_daily.service
        and keys.model is not distinct from billing_daily.model
    left join usage_daily
        on keys.day = usage_daily.day and keys.provider = usage_daily.provider
        and keys.service = usage_daily.service
        and keys.model is not distinct from usage_daily.model
),

parts as (
    select
        *,
        usage_usd - fx_usage_usd as usage_nominal_usd,
        prod_usd = 0 and prod_tokens = 0 as nothing_logged,
        -- the dev-logged tokens on the bill: those beyond the prod-logged ones, at most all of them
        least(dev_tokens, greatest(billed_tokens - prod_tokens, 0)) as dev_billed_tokens
    from daily
),

with_dev_tools as (
    select
        *,
        cast(
            case
                when not has_usage then least(dev_usd, greatest(usage_nominal_usd - prod_usd, 0))
                when dev_tokens = 0 then 0
                when dev_billed_tokens = dev_tokens then dev_usd
                else dev_billed_tokens * dev_usd / dev_tokens
            end as decimal(38, 12)
        ) as dev_tools_usd
    from parts
),

with_unlogged as (
    select
        *,
        cast(
            case
                when not has_usage and nothing_logged then usage_nominal_usd - dev_tools_usd
                when not has_usage then 0
                when prod_tokens > 0
                    then (billed_tokens - prod_tokens - dev_billed_tokens) * prod_usd / prod_tokens
                when billed_tokens = 0 then 0
                else list_usd - list_usd * dev_billed_tokens / billed_tokens
            end as decimal(38, 12)
        ) as unlogged_usd
    from with_dev_tools
),

model_day as (
    select
        'day' as period_grain,
        day as period_start,
        provider,
        service,
        coalesce(model, '(no model)') as model,
        prod_usd,
        dev_usd,
        usage_usd + other_usd as billing_usd,
        unlogged_usd,
        dev_tools_usd,
        case
            when has_usage then list_usd - prod_usd - dev_tools_usd - unlogged_usd else 0
        end as token_category_usd,
        case when has_usage then usage_nominal_usd - list_usd else 0 end as price_usd,
        other_usd - fx_other_usd as credits_tax_fees_usd,
        fx_usage_usd + fx_other_usd as fx_usd,
        prod_requests,
        billing_line_items
    from with_unlogged
),

rolled as (
    select * from model_day
    union all
    select
        'day', period_start, provider, null, null, sum(prod_usd), sum(dev_usd), sum(billing_usd),
        sum(unlogged_usd), sum(dev_tools_usd), sum(token_category_usd), sum(price_usd),
        sum(credits_tax_fees_usd), sum(fx_usd), sum(prod_requests), sum(billing_line_items)
    from model_day
    group by period_start, provider
),

with_months as (
    select * from rolled
    union all
    select
        'month', date_trunc('month', period_start), provider, service, model, sum(prod_usd),
        sum(dev_usd), sum(billing_usd), sum(unlogged_usd), sum(dev_tools_usd),
        sum(token_category_usd), sum(price_usd), sum(credits_tax_fees_usd), sum(fx_usd),
        sum(prod_requests), sum(billing_line_items)
    from rolled
    group by date_trunc('month', period_start), provider, service, model
),

-- every amount rounded once, so that the parts add up to the variance exactly
rounded as (
    select
        period_grain,
        cast(period_start as date) as period_start,
        provider,
        service,
        model,
        cast(prod_usd as decimal(38, 12)) as prod_usd,
        cast(dev_usd as decimal(38, 12)) as dev_usd,
        cast(billing_usd as decimal(38, 12)) as billing_usd,
        cast(unlogged_usd as decimal(38, 12)) as unlogged_usd,
        cast(dev_tools_usd as decimal(38, 12)) as dev_tools_usd,
        cast(token_category_usd as decimal(38, 12)) as token_category_usd,
        cast(price_usd as decimal(38, 12)) as price_usd,
        cast(credits_tax_fees_usd as decimal(38, 12)) as credits_tax_fees_usd,
        cast(fx_usd as decimal(38, 12)) as fx_usd,
        cast(prod_requests as bigint) as prod_requests,
        cast(billing_line_items as bigint) as billing_line_items
    from with_months
),

final as (
    select
        period_grain,
        period_start,
        provider,
        service,
        model,
        prod_usd as prod_estimate_usd,
        dev_usd as dev_estimate_usd,
        billing_usd,
        cast(billing_usd - prod_usd as decimal(38, 12)) as variance_usd,
        cast((billing_usd - prod_usd) / nullif(billing_usd, 0) as double) as variance_pct,
        unlogged_usd as gap_unlogged_usd,
        dev_tools_usd as gap_dev_tools_usd,
        price_usd as gap_price_usd,
        token_category_usd as gap_token_category_usd,
        credits_tax_fees_usd as gap_credits_tax_fees_usd,
        fx_usd as gap_fx_usd,
        cast(
            billing_usd - prod_usd - unlogged_usd - dev_tools_usd - token_category_usd - price_usd
            - credits_tax_fees_usd - fx_usd
            as decimal(38, 12)
        ) as gap_unexplained_usd,
        prod_requests,
        billing_line_items
    from rounded
)

select * from final
