{#- JSON macros shared by all models (docs/INTERFACES.md §2, MAPPING_SPEC §3.1 "JSON").
    A parsed value is DuckDB JSON / Postgres jsonb; only these macros look inside it. -#}

{#- Postgres has no "try parse" before v16: these helpers catch the cast error. Created once per
    schema, idempotently (concurrent creators are tolerated); PARALLEL UNSAFE because a plpgsql
    EXCEPTION block needs a subtransaction, which parallel workers cannot start. -#}
{% macro postgres_ensure_helpers() -%}
  {%- if execute -%}
    {%- set schema = target.schema -%}
    {%- set ddl -%}
create schema if not exists {{ schema }};
{% for type_name in ['jsonb', 'timestamp'] -%}
do $perm$
begin
  create function {{ schema }}.perm_try_{{ type_name }}(v text) returns {{ type_name }}
    language plpgsql immutable parallel unsafe as $f$
    begin
      return v::{{ type_name }};
    exception when others then
      return null;
    end $f$;
exception when duplicate_function or unique_violation then null;
end $perm$;
-- EXCEPTION blocks cannot run in parallel workers: helpers created by older versions are fixed once.
-- Only when needed, and a concurrent fixer's "tuple concurrently updated" is tolerated.
do $perm$
begin
  if exists (select 1 from pg_proc
             where oid = '{{ schema }}.perm_try_{{ type_name }}(text)'::regprocedure and proparallel <> 'u') then
    alter function {{ schema }}.perm_try_{{ type_name }}(text) parallel unsafe;
  end if;
exception when others then null;
end $perm$;
{% endfor -%}
    {%- endset -%}
    {%- do run_query(ddl) -%}
  {%- endif -%}
{%- endmacro %}

{#- JSON value of text, after one extra decode of a double-encoded string.
    NULL for SQL NULL, JSON null (also double-encoded) and unparseable text. -#}
{% macro json_parse(expr) -%}
  {{ return(adapter.dispatch('json_parse', 'perm_migration')(expr)) }}
{%- endmacro %}

{% macro default__json_parse(expr) -%}
(case
  when not coalesce(json_valid(cast({{ expr }} as varchar)), false) then null
  when json_type(cast({{ expr }} as varchar)) = 'NULL' then null
  when json_type(cast({{ expr }} as varchar)) = 'VARCHAR'
       and json_valid(json_extract_string(cast({{ expr }} as varchar), '$'))
    then (case when json_type(json_extract_string(cast({{ expr }} as varchar), '$')) = 'NULL' then null
               else json(json_extract_string(cast({{ expr }} as varchar), '$')) end)
  else json(cast({{ expr }} as varchar))
end)
{%- endmacro %}

{#- Postgres: the exception-catching perm_try_jsonb runs once per value (once more for the content
    of a JSON string): each parse sits in a one-row subquery (`offset 0` keeps the planner from
    inlining it, which would repeat the call at every reference). -#}
{% macro postgres__json_parse(expr) -%}
{%- do postgres_ensure_helpers() -%}
(select case jsonb_typeof(outer_json.value)
   when 'null' then null
   when 'string' then (
     select case when inner_json.value is null then outer_json.value
                 when jsonb_typeof(inner_json.value) = 'null' then null
                 else inner_json.value end
     from (select {{ target.schema }}.perm_try_jsonb(outer_json.value #>> '{}') as value offset 0) as inner_json)
   else outer_json.value
 end
 from (select {{ target.schema }}.perm_try_jsonb(cast({{ expr }} as text)) as value offset 0) as outer_json)
{%- endmacro %}

{#- True when non-NULL text does not parse as JSON. -#}
{% macro json_is_invalid(expr) -%}
  {{ return(adapter.dispatch('json_is_invalid', 'perm_migration')(expr)) }}
{%- endmacro %}

{% macro default__json_is_invalid(expr) -%}
({{ expr }} is not null and not coalesce(json_valid(cast({{ expr }} as varchar)), false))
{%- endmacro %}

{% macro postgres__json_is_invalid(expr) -%}
{%- do postgres_ensure_helpers() -%}
({{ expr }} is not null and {{ target.schema }}.perm_try_jsonb(cast({{ expr }} as text)) is null)
{%- endmacro %}

{#- Type of a parsed JSON value: object, array, string, number, boolean, null (SQL NULL for SQL NULL). -#}
{% macro json_kind(j) -%}
  {{ return(adapter.dispatch('json_kind', 'perm_migration')(j)) }}
{%- endmacro %}

{% macro default__json_kind(j) -%}
(case when {{ j }} is null then null
  else case json_type({{ j }})
    when 'OBJECT' then 'object' when 'ARRAY' then 'array' when 'VARCHAR' then 'string'
    when 'BOOLEAN' then 'boolean' when 'NULL' then 'null' else 'number' end
end)
{%- endmacro %}

{% macro postgres__json_kind(j) -%}
jsonb_typeof({{ j }})
{%- endmacro %}

{#- Member `key` of a parsed JSON object, as JSON (NULL when absent or not an object).
    DuckDB's json_extract already gives NULL for a key path into a non-object: one parse, no type check. -#}
{% macro json_member(j, key) -%}
  {{ return(adapter.dispatch('json_member', 'perm_migration')(j, key)) }}
{%- endmacro %}

{% macro default__json_member(j, key) -%}
json_extract({{ j }}, '$."{{ key }}"')
{%- endmacro %}

{% macro postgres__json_member(j, key) -%}
(case when jsonb_typeof({{ j }}) = 'object' then {{ j }} -> '{{ key }}' end)
{%- endmacro %}

{#- A parsed JSON scalar as text: strings unquoted, numbers and booleans in JSON spelling;
    NULL for JSON null, objects and arrays. -#}
{% macro json_scalar_text(j) -%}
  {{ return(adapter.dispatch('json_scalar_text', 'perm_migration')(j)) }}
{%- endmacro %}

{% macro default__json_scalar_text(j) -%}
(case when json_type({{ j }}) not in ('OBJECT', 'ARRAY', 'NULL') then json_extract_string({{ j }}, '$') end)
{%- endmacro %}

{% macro postgres__json_scalar_text(j) -%}
(case when jsonb_typeof({{ j }}) not in ('object', 'array', 'null') then {{ j }} #>> '{}' end)
{%- endmacro %}

{#- Member `key` of a parsed JSON object as scalar text (see json_scalar_text). -#}
{% macro json_member_text(j, key) -%}
{{ json_scalar_text(json_member(j, key)) }}
{%- endmacro %}

{#- Member `key` of a parsed JSON object as boolean: JSON true/false only, anything else NULL. -#}
{% macro json_member_bool(j, key) -%}
(case when {{ json_kind(json_member(j, key)) }} = 'boolean'
      then {{ json_member_text(j, key) }} = 'true' end)
{%- endmacro %}

{#- FROM-clause item giving one row per element of a parsed JSON array of each row of `relation`
    (a CTE or table name; `j` refers to its columns through that name): the relation's `columns`,
    `<alias>.item_index` (0-based) and `<alias>.item` (JSON). Non-arrays give no rows.
    Usage: `from {{ json_array_rows('t', ['id'], 't.j', 'e') }}`, then `e.id`, `e.item`.
    Work and memory grow linearly with the array: DuckDB unnests in the select list, because a
    lateral join there copies the outer row's values (the whole array) once per element. -#}
{% macro json_array_rows(relation, columns, j, alias) -%}
  {{ return(adapter.dispatch('json_array_rows', 'perm_migration')(relation, columns, j, alias)) }}
{%- endmacro %}

{% macro default__json_array_rows(relation, columns, j, alias) -%}
(
  select {% for column in columns %}{{ column }}, {% endfor -%}
         cast(generate_subscripts(array_items, 1) - 1 as integer) as item_index, unnest(array_items) as item
  from (
    select {% for column in columns %}{{ relation }}.{{ column }}, {% endfor -%}
           case when json_type({{ j }}) = 'ARRAY' then json_extract({{ j }}, '$[*]') end as array_items
    from {{ relation }}
  ) as {{ alias }}_arrays
) as {{ alias }}
{%- endmacro %}

{% macro postgres__json_array_rows(relation, columns, j, alias) -%}
(
  select {% for column in columns %}{{ relation }}.{{ column }}, {% endfor -%}
         cast(each_item.ord - 1 as integer) as item_index, each_item.value as item
  from {{ relation }}
  cross join lateral jsonb_array_elements(case when jsonb_typeof({{ j }}) = 'array' then {{ j }} else '[]'::jsonb end)
       with ordinality as each_item(value, ord)
) as {{ alias }}
{%- endmacro %}

{#- True when text is a JSON string whose content is itself JSON (double encoding, §3.1; normalised + DQ-22).
    Only text starting with `"` is parsed: every other value is no JSON string, and a large array or
    object is never parsed here. -#}
{% macro json_is_double_encoded(expr) -%}
  {{ return(adapter.dispatch('json_is_double_encoded', 'perm_migration')(expr)) }}
{%- endmacro %}

{% macro default__json_is_double_encoded(expr) -%}
coalesce(case when {{ regex_match(expr, '^[[:space:]]*"') }}
              then (case when json_valid(cast({{ expr }} as varchar))
                         then json_type(cast({{ expr }} as varchar)) = 'VARCHAR'
                              and json_valid(json_extract_string(cast({{ expr }} as varchar), '$')) end) end, false)
{%- endmacro %}

{% macro postgres__json_is_double_encoded(expr) -%}
{%- do postgres_ensure_helpers() -%}
coalesce(case when {{ regex_match(expr, '^[[:space:]]*"') }}
              then (select case when jsonb_typeof(outer_json.value) = 'string'
                                then {{ target.schema }}.perm_try_jsonb(outer_json.value #>> '{}') is not null end
                    from (select {{ target.schema }}.perm_try_jsonb(cast({{ expr }} as text)) as value offset 0) as outer_json) end,
         false)
{%- endmacro %}

{#- The content of text that is a JSON string (one decode: the normalised value of a double-encoded
    column, DQ-22); NULL for anything else. -#}
{% macro json_string_content(expr) -%}
  {{ return(adapter.dispatch('json_string_content', 'perm_migration')(expr)) }}
{%- endmacro %}

{% macro default__json_string_content(expr) -%}
(case when coalesce(json_valid(cast({{ expr }} as varchar)), false) and json_type(cast({{ expr }} as varchar)) = 'VARCHAR'
      then json_extract_string(cast({{ expr }} as varchar), '$') end)
{%- endmacro %}

{% macro postgres__json_string_content(expr) -%}
{%- do postgres_ensure_helpers() -%}
(select case when jsonb_typeof(parsed.value) = 'string' then parsed.value #>> '{}' end
 from (select {{ target.schema }}.perm_try_jsonb(cast({{ expr }} as text)) as value offset 0) as parsed)
{%- endmacro %}

{#- DQ-27 checked on the source value before any model parses or unnests it (MAPPING_SPEC §2.1, §4.3):
    a JSON value (text starting with `[`, `{` or `"`) over 921,600 bytes cannot fit in a 900 KiB
    document, and a JSON array (also double-encoded) over 8,192 elements not in a v2 array. The problem
    as text (`has 100000 elements, over the 8,192 of a v2 array`), NULL when the value fits. Only values
    over 16,385 bytes (the shortest JSON array of 8,193 elements) are parsed, each at most 921,600 bytes,
    so that the work per row stays bounded whatever the source holds. -#}
{% macro json_oversize_problem(expr) -%}
{%- set max_bytes, max_elements = 921600, 8192 -%}
(case
  when {{ text_bytes(expr) }} > {{ max_bytes }} and {{ regex_match(expr, '^[[:space:]]*[\\[{"]') }}
    then 'is ' || cast({{ text_bytes(expr) }} as varchar) || ' bytes of JSON, over the 921,600 of a v2 document'
  when {{ text_bytes(expr) }} > {{ 2 * max_elements + 1 }} and {{ json_text_array_size(expr) }} > {{ max_elements }}
    then 'has ' || cast({{ json_text_array_size(expr) }} as varchar) || ' elements, over the 8,192 of a v2 array'
end)
{%- endmacro %}

{#- Number of elements of the JSON array held as text (also double-encoded); 0 for other JSON, NULL for
    text that is no JSON. DuckDB parses text not starting with `"` once (each parse of a row holds memory
    until the whole chunk of rows is done). -#}
{% macro json_text_array_size(expr) -%}
  {{ return(adapter.dispatch('json_text_array_size', 'perm_migration')(expr)) }}
{%- endmacro %}

{% macro default__json_text_array_size(expr) -%}
(case when {{ regex_match(expr, '^[[:space:]]*"') }} then {{ json_array_size(json_parse(expr)) }}
      else try(json_array_length(cast({{ expr }} as varchar))) end)
{%- endmacro %}

{% macro postgres__json_text_array_size(expr) -%}
{{ json_array_size(json_parse(expr)) }}
{%- endmacro %}

{#- Select-list items `<prefix>oversized_field` (the first of `columns` with a problem) and
    `<prefix>oversize_problems` (`tags has 9000 elements, …; notes is …`), NULL when every column fits;
    `<column>_oversize` must hold each column's json_oversize_problem. -#}
{% macro json_oversize_summary(columns) -%}
case {% for column in columns %}when {{ column }}_oversize is not null then '{{ column }}' {% endfor %}end as oversized_field,
nullif(concat_ws('; '{% for column in columns %}, '{{ column }} ' || {{ column }}_oversize{% endfor %}), '') as oversize_problems
{%- endmacro %}

{#- Length of text in bytes (UTF-8). -#}
{% macro text_bytes(expr) -%}
  {{ return(adapter.dispatch('text_bytes', 'perm_migration')(expr)) }}
{%- endmacro %}

{% macro default__text_bytes(expr) -%}
strlen(cast({{ expr }} as varchar))
{%- endmacro %}

{% macro postgres__text_bytes(expr) -%}
octet_length(cast({{ expr }} as text))
{%- endmacro %}

{#- Number of elements of a parsed JSON array; 0 for any other JSON value, NULL for NULL. -#}
{% macro json_array_size(j) -%}
  {{ return(adapter.dispatch('json_array_size', 'perm_migration')(j)) }}
{%- endmacro %}

{% macro default__json_array_size(j) -%}
(case when json_type({{ j }}) = 'ARRAY' then json_array_length({{ j }}) when {{ j }} is not null then 0 end)
{%- endmacro %}

{% macro postgres__json_array_size(j) -%}
(case when jsonb_typeof({{ j }}) = 'array' then jsonb_array_length({{ j }}) when {{ j }} is not null then 0 end)
{%- endmacro %}
