{#- Token normalisation: five disjoint counts that add up to the request's total. -#}

{#- Uncached input when the format's input count includes cache reads and writes. -#}
{% macro uncached_input(input_tokens, cache_read, cache_write) -%}
    greatest(coalesce({{ input_tokens }}, 0) - coalesce({{ cache_read }}, 0) - coalesce({{ cache_write }}, 0), 0)
{%- endmacro %}

{#- Output excluding reasoning, when the format's output count includes reasoning. -#}
{% macro visible_output(output_tokens, reasoning) -%}
    greatest(coalesce({{ output_tokens }}, 0) - coalesce({{ reasoning }}, 0), 0)
{%- endmacro %}

{#- The UTC calendar date of a timestamptz, whatever the session time zone: integer arithmetic on
    its epoch microseconds, about 10x faster per row than cast(timezone('UTC', ts) as date) and
    equal to it (bimo.source_health.utc_day is the same expression). -#}
{% macro utc_date(ts) -%}
    cast(date '1970-01-01' + cast(floor(epoch_us({{ ts }}) / 86400000000) as integer) as date)
{%- endmacro %}
