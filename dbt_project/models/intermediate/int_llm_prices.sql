-- Every price Bimo may apply: repository overrides (priority 0) win over the catalogue (1).
with

catalogue as (
    select * from {{ ref('int_model_prices') }}
),

overrides as (
    select * from {{ ref('price_overrides') }}
),

unioned as (
    select
        provider,
        model_ref,
        valid_from,
        valid_to,
        tier_start_tokens,
        input_per_mtok,
        cache_read_per_mtok,
        cache_write_per_mtok,
        output_per_mtok,
        reasoning_per_mtok,
        price_source,
        catalogue_model_id,
        1 as priority
    from catalogue

    union all

    select
        provider,
        model_ref,
        valid_from,
        valid_to,
        0 as tier_start_tokens,
        input_per_mtok,
        coalesce(cache_read_per_mtok, input_per_mtok) as cache_read_per_mtok,
        coalesce(cache_write_per_mtok, input_per_mtok) as cache_write_per_mtok,
        output_per_mtok,
        coalesce(reasoning_per_mtok, output_per_mtok) as reasoning_per_mtok,
        'override' || coalesce(': ' || note, '') as price_source,
        cast(null as varchar) as catalogue_model_id,
        0 as priority
    from overrides
)

select * from unioned
