{#- Data tests in a windowed build: a test of a windowed model checks the rows the build could
    have changed, not the whole history again. The window strategy deletes and re-inserts the
    window's days and leaves every other row as the build that wrote it (and tested it) left it,
    so
    - a `unique` test checks every row whose value also occurs in the window, anywhere in the
      history: a duplicate the build made has at least one copy in the window, and a request id
      delivered again on a day outside the window is still caught (docs/operations.md);
    - `not_null`, `accepted_values` and `relationships` check the window's rows: each judges one
      row at a time.
    Any other test (one that compares rows, such as a combination of columns being unique) reads
    the whole table, as do all tests without a window, on other models and at parse time
    (`execute` false: the window's environment variables must not make dbt re-parse the test
    files).
    A test's `where` config applies in both cases. -#}
{% macro get_where_subquery(relation) -%}
    {%- set scoped = window_test_subquery(relation) if execute else none -%}
    {%- if scoped -%}
        {{- return(scoped) -}}
    {%- endif -%}
    {{- return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) -}}
{%- endmacro %}

{#- The subquery a test of a windowed model reads in a windowed build, or none. -#}
{% macro window_test_subquery(relation) -%}
    {%- set window = build_window() -%}
    {%- set attached = model.attached_node if model.resource_type == 'test' else none -%}
    {%- set parent = graph.nodes.get(attached) if (window and attached) else none -%}
    {%- if parent is none or parent.config.incremental_strategy != 'window' -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set day = parent.config.unique_key -%}
    {%- set where = config.get('where') or 'true' -%}
    {%- set column = model.column_name -%}
    {%- set kind = model.test_metadata.name if model.test_metadata else none -%}
    {%- if kind == 'unique' and column -%}
        {%- set scope -%}
            {{ column }} in (select {{ column }} from {{ relation }} where {{ in_window(day) }})
        {%- endset -%}
    {%- elif kind in ('not_null', 'accepted_values', 'relationships') -%}
        {%- set scope = in_window(day) -%}
    {%- else -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return('(select * from ' ~ relation ~ ' where (' ~ where ~ ') and ' ~ scope ~ ') dbt_subquery') -}}
{%- endmacro %}
