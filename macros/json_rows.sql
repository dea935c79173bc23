{#- JSON row helpers: raw JSON items with their compact text, JSON text of rows, dynamic members.
    Output is identical on DuckDB and Postgres: compact, keys in source order. -#}

{#- FROM-clause item: one row per element of a JSON array held as text (one extra decode of a
    double-encoded string) in each row of `relation` (see json_array_rows): the relation's `columns`,
    `<alias>.item_index` (0-based), `<alias>.item` (parsed JSON, for the json_* accessors) and
    `<alias>.item_text` (compact JSON text, keys in source order). Non-arrays and invalid JSON give no rows. -#}
{% macro json_array_raw_rows(relation, columns, text_expr, alias) -%}
  {{ return(adapter.dispatch('json_array_raw_rows', 'perm_migration')(relation, columns, text_expr, alias)) }}
{%- endmacro %}

{% macro default__json_array_raw_rows(relation, columns, text_expr, alias) -%}
(
  select {% for column in columns %}parsed_items.{{ column }}, {% endfor -%}
         parsed_items.item_index, parsed_items.item, cast(parsed_items.item as varchar) as item_text
  from {{ json_array_rows(relation, columns, json_parse(text_expr), 'parsed_items') }}
) as {{ alias }}
{%- endmacro %}

{% macro postgres__json_array_raw_rows(relation, columns, text_expr, alias) -%}
{%- set parsed = json_parse(text_expr) -%}
{%- set as_json -%}
(case when jsonb_typeof({{ parsed }}) = 'array'
      then (case when json_typeof(cast(cast({{ text_expr }} as text) as json)) = 'string'
                 then cast(cast(cast({{ text_expr }} as text) as json) #>> '{}' as json)
                 else cast(cast({{ text_expr }} as text) as json) end)
      else cast('[]' as json) end)
{%- endset -%}
(
  select {% for column in columns %}{{ relation }}.{{ column }}, {% endfor -%}
         cast(each_item.ord - 1 as integer) as item_index, cast(each_item.value as jsonb) as item,
         regexp_replace(cast(each_item.value as text), '("(?:[^"\\]|\\.)*")|[[:space:]]+', '\1', 'g') as item_text
  from {{ relation }}
  cross join lateral json_array_elements({{ as_json }}) with ordinality as each_item(value, ord)
) as {{ alias }}
{%- endmacro %}

{#- Regex of a JSON-escaped or raw control character (§3.1 TEXT rule set), removed from row JSON so that
    both warehouses agree (they differ only in the case of the hex digits of \u escapes). -#}
{% macro _escaped_control_regex() -%}
'\\u00(0[0-8BbCcEeFf]|1[0-9A-Fa-f])|\\u007[Ff]|[\x01-\x08\x0B\x0C\x0E-\x1F\x7F]'
{%- endmacro %}

{#- The column names of raw table `table_name` (schema `raw`, docs/INTERFACES.md §1), in table order
    (= contract order); empty while dbt parses. Looked up by name, not through source(): the calling
    model then depends only on its staging view, and its unit tests need no source input. -#}
{% macro raw_columns(table_name) -%}
  {%- if not execute -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set relation = api.Relation.create(database=target.database, schema='raw', identifier=table_name) -%}
  {{ return(adapter.get_columns_in_relation(relation) | map(attribute='name') | list) }}
{%- endmacro %}

{#- JSON object text of a row: the columns `column_names` of the relation alias `alias`, keys in that
    order, values as JSON strings of their text (NULL → null), control characters removed; identical text
    on every warehouse (built with its native JSON writer). Used for the `source_row` of rejects: call it
    after filtering to the rejected rows when the row is large. `''` for no columns (while dbt parses). -#}
{% macro row_json(alias, column_names) -%}
  {{ return(adapter.dispatch('row_json', 'perm_migration')(alias, column_names)) }}
{%- endmacro %}

{% macro default__row_json(alias, column_names) -%}
{%- if column_names -%}
regexp_replace(cast(to_json({
{%- for column_name in column_names %}
  '{{ column_name }}': cast({{ alias }}.{{ adapter.quote(column_name) }} as varchar){{ ',' if not loop.last }}
{%- endfor %}
}) as varchar), {{ _escaped_control_regex() }}, '', 'g')
{%- else -%}
''
{%- endif -%}
{%- endmacro %}

{% macro postgres__row_json(alias, column_names) -%}
{%- if column_names -%}
regexp_replace((select cast(row_to_json(raw_values) as text) from (select
{%- for column_name in column_names %}
  cast({{ alias }}.{{ adapter.quote(column_name) }} as text) as {{ adapter.quote(column_name) }}{{ ',' if not loop.last }}
{%- endfor %}
) as raw_values), {{ _escaped_control_regex() }}, '', 'g')
{%- else -%}
''
{%- endif -%}
{%- endmacro %}

{#- Member of a parsed JSON object named by a text expression, as text when it is a JSON string. -#}
{% macro json_member_text_dynamic(j, key_expr) -%}
  {{ return(adapter.dispatch('json_member_text_dynamic', 'perm_migration')(j, key_expr)) }}
{%- endmacro %}

{% macro default__json_member_text_dynamic(j, key_expr) -%}
(case when json_type(json_extract({{ j }}, '$."' || {{ key_expr }} || '"')) = 'VARCHAR'
      then json_extract_string({{ j }}, '$."' || {{ key_expr }} || '"') end)
{%- endmacro %}

{% macro postgres__json_member_text_dynamic(j, key_expr) -%}
(case when jsonb_typeof({{ j }} -> {{ key_expr }}) = 'string' then {{ j }} ->> {{ key_expr }} end)
{%- endmacro %}

{#- JSON number text of a numeric value: integral values without a decimal point. -#}
{% macro json_number(expr) -%}
(case when {{ expr }} = floor({{ expr }}) then cast(cast({{ expr }} as bigint) as varchar)
      else cast({{ expr }} as varchar) end)
{%- endmacro %}
