{#- Time macros shared by all models (docs/INTERFACES.md §2, MAPPING_SPEC §0.4 and §3.1). -#}

{#- ms(ts): bigint epoch milliseconds, floor(µs / 1000); accepts a timestamp or its text (read as UTC),
    whatever the session's DateStyle (`stored_text`).
    NULL for what is not a finite timestamp of years 0001–9999 in the staged text form (PostgreSQL's
    `infinity`, BC or 5-digit years, which stage keeps as text): the field rule's fallback applies,
    never a failed build, and both warehouses agree. -#}
{% macro epoch_ms(ts_expr) -%}
  {{ return(adapter.dispatch('epoch_ms', 'perm_migration')(ts_expr)) }}
{%- endmacro %}

{% macro staged_timestamp_pattern() -%}
'^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?$'
{%- endmacro %}

{% macro default__epoch_ms(ts_expr) -%}
(case when regexp_matches({{ stored_text(ts_expr) }}, {{ staged_timestamp_pattern() }})
  then cast(floor(epoch_us(cast({{ stored_text(ts_expr) }} as timestamp)) / 1000.0) as bigint) end)
{%- endmacro %}

{% macro postgres__epoch_ms(ts_expr) -%}
(case when {{ stored_text(ts_expr) }} ~ {{ staged_timestamp_pattern() }}
  then cast(floor(extract(epoch from cast({{ stored_text(ts_expr) }} as timestamp)) * 1000) as bigint) end)
{%- endmacro %}

{#- The text of a non-NULL timestamp that `epoch_ms` cannot read (`infinity`, `-infinity`, BC or
    5-digit years, staged as text), else NULL: the original value a DQ-16 finding names. -#}
{% macro unreadable_timestamp(ts_expr) -%}
(case when {{ ts_expr }} is not null and {{ epoch_ms(ts_expr) }} is null then cast({{ ts_expr }} as varchar) end)
{%- endmacro %}

{#- A timestamp to order by ("the greatest updated_at"): the value, NULL when `epoch_ms` cannot read
    it. Such values (infinity, BC, 5-digit years) are staged as text, where they sort among the
    dates by their digits ('4000-01-01 ... BC' above 2023); DQ-16 treats them as missing. -#}
{% macro comparable_timestamp(ts_expr) -%}
(case when {{ epoch_ms(ts_expr) }} is not null then {{ ts_expr }} end)
{%- endmacro %}

{#- The migration_as_of var parsed once at compile time (never the clock), as a naive UTC datetime. -#}
{% macro as_of_datetime() -%}
  {%- set raw = var('migration_as_of') | string | trim -%}
  {%- set parsed = modules.datetime.datetime.fromisoformat(raw.replace('Z', '+00:00').replace('z', '+00:00')) -%}
  {%- if parsed.tzinfo is not none -%}
    {%- set parsed = (parsed - parsed.utcoffset()).replace(tzinfo=none) -%}
  {%- endif -%}
  {{ return(parsed) }}
{%- endmacro %}

{#- as_of_ms (§0.2): the migration_as_of instant as a bigint literal of epoch milliseconds. -#}
{% macro as_of_ms() -%}
  {%- set delta = as_of_datetime() - modules.datetime.datetime(1970, 1, 1) -%}
  {{- 'cast(' ~ ((delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000) ~ ' as bigint)' -}}
{%- endmacro %}

{#- as_of_date (§0.2): the UTC calendar date of migration_as_of as a 'YYYY-MM-DD' text literal. -#}
{% macro as_of_date() -%}
'{{ as_of_datetime().strftime("%Y-%m-%d") }}'
{%- endmacro %}

{#- Timestamp held as text (a member of JSON): ISO-8601 date or date-time, optional fraction,
    optional offset `Z`/`±HH`/`±HHMM`/`±HH:MM` (none = UTC) → bigint epoch ms; anything else NULL. -#}
{% macro iso_text_to_ms(text_expr) -%}
  {{ return(adapter.dispatch('iso_text_to_ms', 'perm_migration')(text_expr)) }}
{%- endmacro %}

{#- A JSON timestamp value → bigint epoch ms: a number (ms, floored) or ISO-8601 text
    (`iso_text_to_ms`); NULL for any other JSON kind. -#}
{% macro json_time_to_ms(json_expr) -%}
case {{ json_kind(json_expr) }}
    when 'number' then cast(floor(cast({{ json_scalar_text(json_expr) }} as double precision)) as bigint)
    when 'string' then {{ iso_text_to_ms(json_scalar_text(json_expr)) }}
end
{%- endmacro %}

{% macro iso_text_pattern() -%}
'^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ]([0-9]{2}:[0-9]{2})(:[0-9]{2})?(\.[0-9]+)?)? *(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?$'
{%- endmacro %}

{#- Offset text (Z, ±HH, ±HHMM, ±HH:MM; NULL/empty = UTC) → offset in milliseconds. -#}
{% macro offset_text_to_ms(offset_expr) -%}
(case when coalesce({{ offset_expr }}, '') in ('', 'Z', 'z') then 0
      else (case when substr({{ offset_expr }}, 1, 1) = '-' then -1 else 1 end)
           * (cast(substr({{ offset_expr }}, 2, 2) as integer) * 60
              + coalesce(cast(nullif(substr(replace({{ offset_expr }}, ':', ''), 4, 2), '') as integer), 0))
           * 60000
 end)
{%- endmacro %}

{% macro default__iso_text_to_ms(text_expr) -%}
(case when regexp_matches(cast({{ text_expr }} as varchar), {{ iso_text_pattern() }})
  then {{ epoch_ms("try_cast(
      regexp_extract(cast(" ~ text_expr ~ " as varchar), " ~ iso_text_pattern() ~ ", 1) || ' '
      || coalesce(nullif(regexp_extract(cast(" ~ text_expr ~ " as varchar), " ~ iso_text_pattern() ~ ", 2), ''), '00:00')
      || coalesce(nullif(regexp_extract(cast(" ~ text_expr ~ " as varchar), " ~ iso_text_pattern() ~ ", 3), ''), ':00')
      || rpad(coalesce(nullif(regexp_extract(cast(" ~ text_expr ~ " as varchar), " ~ iso_text_pattern() ~ ", 4), ''), '.'), 7, '0')
    as timestamp)") }}
    - {{ offset_text_to_ms("regexp_extract(cast(" ~ text_expr ~ " as varchar), " ~ iso_text_pattern() ~ ", 5)") }}
end)
{%- endmacro %}

{% macro postgres__iso_text_to_ms(text_expr) -%}
{%- do postgres_ensure_helpers() -%}
(case when cast({{ text_expr }} as text) ~ {{ iso_text_pattern() }}
  then {{ epoch_ms(target.schema ~ ".perm_try_timestamp(
      (regexp_match(cast(" ~ text_expr ~ " as text), " ~ iso_text_pattern() ~ "))[1] || ' '
      || coalesce((regexp_match(cast(" ~ text_expr ~ " as text), " ~ iso_text_pattern() ~ "))[2], '00:00')
      || coalesce((regexp_match(cast(" ~ text_expr ~ " as text), " ~ iso_text_pattern() ~ "))[3], ':00')
      || rpad(coalesce((regexp_match(cast(" ~ text_expr ~ " as text), " ~ iso_text_pattern() ~ "))[4], '.'), 7, '0'))") }}
    - {{ offset_text_to_ms("(regexp_match(cast(" ~ text_expr ~ " as text), " ~ iso_text_pattern() ~ "))[5]") }}
end)
{%- endmacro %}

{#- migration_as_of as a UTC timestamp literal (for comparisons with timestamp columns). -#}
{% macro as_of_timestamp() -%}
cast('{{ as_of_datetime().strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}
