-- Billing line items in USD. The export's own rate wins; else the user's fx_rates seed for the
-- currency and month; USD is 1. A row with no rate keeps a NULL USD cost (x_fx_source 'missing').
-- One charge, never two:
--   * when an AWS account's billing period arrives both as a FOCUS export and as a CUR, the
--     ledger keeps the FOCUS rows;
--   * when an Azure billing account's period arrives as both cost-details datasets, actual and
--     amortized, they are combined the way FOCUS defines the two measures instead of summed:
--     the amortized rows are kept (effective_cost = amortized cost; billed_cost = 0 on
--     commitment-covered usage and on unused-commitment rows, which were paid by the purchase),
--     plus the actual dataset's commitment purchase and refund rows (billed_cost = the payment,
--     effective_cost = 0, since it is amortized onto the usage rows). Σ billed_cost is then the
--     actual dataset's total and Σ effective_cost the amortized one's. A period with one dataset
--     keeps its rows as they are (billed_cost = effective_cost = that dataset's cost);
--   * an OCI correction (`lineItem/isCorrection`) with a cost of zero or more is the corrected
--     charge and overrides the row it points at: a row whose `lineItem/referenceNo` is such a
--     correction's `lineItem/backreferenceNo` (same tenant) leaves the ledger, and a correction of
--     a correction overrides the first the same way. A negative correction is a reversal (it
--     negates the original, quantity and cost) and is added to it, so both rows stay.
with

all_items as (
    select * from {{ ref('stg_billing__line_items') }}
),

focus_periods as (
    select distinct billing_account_id, billing_period_start
    from all_items
    where source_system = 'focus' and x_provider in ('aws', 'aws_bedrock')
),

not_cur_twice as (
    select all_items.*
    from all_items
    left join focus_periods
        on all_items.billing_account_id = focus_periods.billing_account_id
        and all_items.billing_period_start = focus_periods.billing_period_start
    where not (all_items.source_system = 'aws-cur' and focus_periods.billing_account_id is not null)
),

azure_both as (
    select billing_account_id, billing_period_start
    from all_items
    where source_system = 'azure'
    group by 1, 2
    having count(distinct json_extract_string(extra, '$.dataset')) = 2
),

azure_combined as (
    select
        not_cur_twice.* replace (
            case
                when azure_both.billing_account_id is not null
                    and json_extract_string(extra, '$.dataset') = 'amortized'
                    and (pricing_category = 'Committed' or commitment_discount_status = 'Unused')
                    then 0
                else billed_cost
            end as billed_cost,
            case
                when azure_both.billing_account_id is not null
                    and json_extract_string(extra, '$.dataset') = 'actual' then 0
                else effective_cost
            end as effective_cost
        )
    from not_cur_twice
    left join azure_both
        on not_cur_twice.source_system = 'azure'
        and not_cur_twice.billing_account_id = azure_both.billing_account_id
        and not_cur_twice.billing_period_start = azure_both.billing_period_start
    where azure_both.billing_account_id is null
        or json_extract_string(extra, '$.dataset') = 'amortized'
        or (charge_category = 'Purchase' and pricing_category = 'Committed')
),

oci_overridden as (
    select distinct
        billing_account_id,
        json_extract_string(extra, '$."lineItem/backreferenceNo"') as reference_no
    from all_items
    where source_system = 'oci'
        and charge_class = 'Correction'
        and billed_cost >= 0
        and json_extract_string(extra, '$."lineItem/backreferenceNo"') is not null
),

items as (
    select azure_combined.*
    from azure_combined
    left join oci_overridden
        on azure_combined.source_system = 'oci'
        and azure_combined.billing_account_id = oci_overridden.billing_account_id
        and json_extract_string(azure_combined.extra, '$."lineItem/referenceNo"')
            = oci_overridden.reference_no
    where oci_overridden.reference_no is null
),

rates as (
    select * from {{ ref('fx_rates') }}
),

model_ids as (
    select * from {{ ref('int_model_catalogue_ids') }}
),

converted as (
    select
        items.*,
        coalesce(model_ids.catalogue_model_id, items.model) as x_model_key,
        case
            when items.billing_currency = 'USD' then 1.0
            when items.usd_exchange_rate is not null then items.usd_exchange_rate
            else rates.usd_per_unit
        end as x_usd_rate,
        case
            when items.billing_currency = 'USD' then 'usd'
            when items.usd_exchange_rate is not null then 'export'
            when rates.usd_per_unit is not null then 'rates_table'
            else 'missing'
        end as x_fx_source
    from items
    left join rates
        on items.billing_currency = rates.currency
        and date_trunc('month', items.charge_date) = rates.month
    left join model_ids
        on items.x_provider = model_ids.provider
        and items.model = model_ids.model_ref
)

select * from converted
