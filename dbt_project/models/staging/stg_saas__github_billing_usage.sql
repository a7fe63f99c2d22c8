-- GitHub enhanced billing usage items: gross − discount = net (USD), per day and product.
select
    usage_date,
    org,
    product,
    sku,
    quantity,
    unit_type,
    price_per_unit,
    gross_amount,
    discount_amount,
    net_amount,
    repository_name
from {{ source('raw_saas', 'github_billing_usage') }}
