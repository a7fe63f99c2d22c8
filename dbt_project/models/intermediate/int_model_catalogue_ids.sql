-- One model identity across logs and bills: the catalogue id that a provider's model name
-- (alias or dated snapshot) resolves to; names the catalogue does not know stay as they are.
with

prices as (
    select * from {{ ref('int_model_prices') }}
),

ids as (
    select distinct provider, model_ref, catalogue_model_id
    from prices
)

select * from ids
