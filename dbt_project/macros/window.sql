{#- Partition windows: a run may rebuild only the days from `window_start` (inclusive) to
    `window_end` (exclusive), both ISO dates, given as vars or, as Bimo's own runs give them, as
    environment variables: BIMO_WINDOWED=1 with BIMO_WINDOW_START / BIMO_WINDOW_END (vars win).
    Without them a windowed model rebuilds in full.
    Why the environment: new vars make dbt parse the whole project again, and a daily run's
    window is new every day. dbt re-parses a file when an environment variable its parsing read
    has changed, so parsing reads only BIMO_WINDOWED (whether there is a window: it decides
    `full_refresh`), the same every day; the days are read when the models run (`execute`),
    which dbt does not track. A new day's window re-parses nothing. -#}

{#- The run's window as {start, end} (ISO date strings), or none when no window was given. -#}
{#- While parsing (`execute` false) only whether there is one: {start: none, end: none}. -#}
{% macro build_window() -%}
    {%- set windowed = env_var('BIMO_WINDOWED', '') == '1' -%}
    {%- set by_vars = var('window_start', none) is not none or var('window_end', none) is not none -%}
    {%- if not execute -%}
        {{- return({'start': none, 'end': none} if (windowed or by_vars) else none) -}}
    {%- endif -%}
    {%- set start = var('window_start', env_var('BIMO_WINDOW_START', '')) or none -%}
    {%- set end = var('window_end', env_var('BIMO_WINDOW_END', '')) or none -%}
    {%- if (start is not none or end is not none) and not (windowed or by_vars) -%}
        {{- exceptions.raise_compiler_error('BIMO_WINDOW_START / BIMO_WINDOW_END need BIMO_WINDOWED=1 (whether there is a window is decided when dbt parses the project; the days when it runs).') -}}
    {%- endif -%}
    {%- if start is none and end is none and not windowed -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- if start is none or end is none -%}
        {{- exceptions.raise_compiler_error('Give both window_start and window_end (or BIMO_WINDOW_START and BIMO_WINDOW_END), or neither.') -}}
    {%- endif -%}
    {#- a YAML date (`--vars "window_start: 2026-10-01"`) arrives as a date, JSON as a string -#}
    {%- set start = modules.datetime.date.fromisoformat(start | string) -%}
    {%- set end = modules.datetime.date.fromisoformat(end | string) -%}
    {%- if end <= start -%}
        {{- exceptions.raise_compiler_error('window_end must be after window_start (it is exclusive).') -}}
    {%- endif -%}
    {{- return({'start': start.isoformat(), 'end': end.isoformat()}) -}}
{%- endmacro %}

{#- A windowed model's `full_refresh` config: with a window, dbt's `--full-refresh` flag decides
    (none); without one, always rebuild in full, as a table would be (and take schema changes). -#}
{% macro window_full_refresh() -%}
    {{- return(none if build_window() else true) -}}
{%- endmacro %}

{#- The run's window, which `needed_by` needs: a compile error without one. -#}
{% macro required_window(needed_by) -%}
    {%- set window = build_window() -%}
    {%- if window is none -%}
        {{- exceptions.raise_compiler_error(needed_by ~ ' needs window_start and window_end.') -}}
    {%- endif -%}
    {{- return(window) -}}
{%- endmacro %}

{#- `column` lies in the run's window. -#}
{% macro in_window(column) -%}
    {%- set window = required_window('in_window()') -%}
    {{ column }} >= date '{{ window.start }}' and {{ column }} < date '{{ window.end }}'
{%- endmacro %}

{#- Incremental strategy `window`: replace every row of the window, days that came back empty
    included (delete+insert would keep a day that no longer has rows). One transaction. -#}
{% macro get_incremental_window_sql(arg_dict) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ in_window(arg_dict['unique_key']) }};

    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{#- `column`, a TIMESTAMPTZ, lies in the run's window's days (UTC): the same rows as `in_window`
    on the UTC date of `column`, as a condition DuckDB can prune a table's row groups by. -#}
{% macro in_window_instant(column) -%}
    {%- set window = required_window('in_window_instant()') -%}
    {{ column }} >= timestamptz '{{ window.start }} 00:00:00+00' and {{ column }} < timestamptz '{{ window.end }} 00:00:00+00'
{%- endmacro %}

{#- A request (a row of `int_llm_requests_unioned`) lies in the run's window: by its day, and by
    its timestamp, which lets DuckDB skip the raw tables' older row groups. -#}
{% macro request_in_window() -%}
    {{ in_window('request_date') }} and {{ in_window_instant('requested_at') }}
{%- endmacro %}
