-- SaaS invoices with Bimo's tool id: the longest saas_vendor_aliases alias that is the vendor
-- name or its first words ("GitHub Copilot Business" → github copilot → github-copilot); else the
-- vendor in lower case.
with

invoices as (
    select * from {{ source('raw_saas', 'invoices') }}
),

aliases as (
    select * from {{ ref('saas_vendor_aliases') }}
)

select
    coalesce(aliases.tool, lower(trim(invoices.vendor))) as tool,
    invoices.vendor,
    invoices.period_start,
    cast(invoices.period_start + interval 1 month as date) as period_end,
    invoices.seats,
    invoices.amount,
    upper(invoices.currency) as currency,
    invoices.invoice_id,
    invoices.team,
    invoices._source_file as source_file,
    invoices._source_line as source_line
from invoices
left join aliases
    on lower(trim(invoices.vendor)) = aliases.alias
    or starts_with(lower(trim(invoices.vendor)), aliases.alias || ' ')
qualify row_number() over (
    partition by invoices.delivery_key, invoices._source_file, invoices._source_line
    order by length(aliases.alias) desc nulls last
) = 1
