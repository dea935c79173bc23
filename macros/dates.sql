{#- Date macros (docs/INTERFACES.md §2, MAPPING_SPEC §3.1, §3.9.1). Dates travel as `YYYY-MM-DD` text. -#}

{#- Boolean: text matches a regular expression (partial match, like PostgreSQL `~`). -#}
{% macro regex_match(expr, pattern) -%}
  {{ return(adapter.dispatch('regex_match', 'perm_migration')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_match(expr, pattern) -%}
regexp_matches(cast({{ expr }} as varchar), '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regex_match(expr, pattern) -%}
(cast({{ expr }} as text) ~ '{{ pattern }}')
{%- endmacro %}

{#- A DATE value as `YYYY-MM-DD` text. -#}
{% macro date_to_text(date_expr) -%}
  {{ return(adapter.dispatch('date_to_text', 'perm_migration')(date_expr)) }}
{%- endmacro %}

{% macro default__date_to_text(date_expr) -%}
strftime(cast({{ date_expr }} as date), '%Y-%m-%d')
{%- endmacro %}

{% macro postgres__date_to_text(date_expr) -%}
to_char(cast({{ date_expr }} as date), 'YYYY-MM-DD')
{%- endmacro %}

{#- A DATE, TIMESTAMP or text value as text that no session setting changes: dates and timestamps in
    ISO 8601 (`YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS[.ffffff]`; `T` instead of the space on PostgreSQL),
    text unchanged. PostgreSQL's own text output of a date or timestamp follows DateStyle, its JSON
    output never does. -#}
{% macro stored_text(expr) -%}
  {{ return(adapter.dispatch('stored_text', 'perm_migration')(expr)) }}
{%- endmacro %}

{% macro default__stored_text(expr) -%}
cast({{ expr }} as varchar)
{%- endmacro %}

{% macro postgres__stored_text(expr) -%}
(to_json({{ expr }}) #>> '{}')
{%- endmacro %}

{#- Regex of an existing calendar date in 1990-01-01..2100-12-31 (leap years 1992..2096 and 2000). -#}
{% macro _valid_date_regex() -%}
((199[0-9]|20[0-9]{2}|2100)-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)|(199[26]|20([02468][048]|[13579][26]))-02-29)
{%- endmacro %}

{#- `YYYY-MM-DD` text, or NULL when the value is not an existing calendar date in 1990-01-01..2100-12-31
    (§3.1 DATE and text-date rules). Accepts a DATE or text: ISO dates with an optional time part are
    taken as written; slash dates only in the order named by var v1_text_date_format. -#}
{% macro parse_date(expr) -%}
  {{ return(adapter.dispatch('parse_date', 'perm_migration')(expr)) }}
{%- endmacro %}

{% macro default__parse_date(expr) -%}
{%- set text_expr = 'trim(' ~ stored_text(expr) ~ ')' -%}
{%- set fmt = var('v1_text_date_format', none) -%}
case
  when {{ regex_match(text_expr, '^' ~ _valid_date_regex() ~ '([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?)?$') }}
    then substr({{ text_expr }}, 1, 10)
{%- if fmt in ('MM/DD/YYYY', 'DD/MM/YYYY') %}
{%- set month_part, day_part = (1, 2) if fmt == 'MM/DD/YYYY' else (2, 1) %}
{%- set slash_iso = "split_part(" ~ text_expr ~ ", '/', 3) || '-' || lpad(split_part(" ~ text_expr ~ ", '/', " ~ month_part ~ "), 2, '0') || '-' || lpad(split_part(" ~ text_expr ~ ", '/', " ~ day_part ~ "), 2, '0')" %}
  when {{ regex_match(text_expr, '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$') }}
       and {{ regex_match(slash_iso, '^' ~ _valid_date_regex() ~ '$') }}
    then {{ slash_iso }}
{%- endif %}
end
{%- endmacro %}

{#- `YYYY-MM-DD` text of date_text + n calendar days. -#}
{% macro add_days(date_text, n) -%}
  {{ return(adapter.dispatch('add_days', 'perm_migration')(date_text, n)) }}
{%- endmacro %}

{% macro default__add_days(date_text, n) -%}
{{ date_to_text('cast(' ~ date_text ~ ' as date) + cast(' ~ n ~ ' as integer)') }}
{%- endmacro %}

{#- Calendar days from start_text to end_text (end − start), integer. -#}
{% macro day_diff(start_text, end_text) -%}
  {{ return(adapter.dispatch('day_diff', 'perm_migration')(start_text, end_text)) }}
{%- endmacro %}

{% macro default__day_diff(start_text, end_text) -%}
cast(cast({{ end_text }} as date) - cast({{ start_text }} as date) as integer)
{%- endmacro %}

{#- Day of week of a `YYYY-MM-DD` text, 0 = Sunday … 6 = Saturday. -#}
{% macro day_of_week(date_text) -%}
  {{ return(adapter.dispatch('day_of_week', 'perm_migration')(date_text)) }}
{%- endmacro %}

{% macro default__day_of_week(date_text) -%}
cast(extract(dow from cast({{ date_text }} as date)) as integer)
{%- endmacro %}

{#- `YYYY-MM-DD` text of year(date_text) + years_offset, month and day given as 'MM-DD'. -#}
{% macro date_in_year(date_text, years_offset, month_day) -%}
cast(cast(substr({{ date_text }}, 1, 4) as integer) + {{ years_offset }} as varchar) || '-{{ month_day }}'
{%- endmacro %}
