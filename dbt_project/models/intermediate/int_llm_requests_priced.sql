-- Estimated cost per request: normalised tokens × the price in force on the request's date,
-- at the tier its total input reaches. No price → NULL cost and pricing_status 'unpriced'.
--
-- The price is chosen once per provider × pricing model × day × input tier, not per request: a
-- request's candidates (prices in force on its date whose tier its input reaches) are the same
-- for every request of that day between two consecutive tier starts. Each request then takes its
-- tier's price with one equality join plus a range check, without a window over the requests.
-- A view, like int_llm_requests_unioned. Its SQL is the macro `priced_requests`
-- (macros/pricing.sql): fct_llm_requests runs it on its window's requests only.
{{ config(materialized='view') }}

{{ priced_requests() }}
