{#- FROM-clause item: one row per part of text split on a separator, for each row of `relation`
    (see json_array_rows): the relation's `columns`, `<alias>.part_index` (1-based) and `<alias>.part`
    (text). NULL text gives no rows. DuckDB unnests in the select list (linear in the text's size). -#}
{% macro split_rows(relation, columns, text_expr, separator, alias) -%}
  {{ return(adapter.dispatch('split_rows', 'perm_migration')(relation, columns, text_expr, separator, alias)) }}
{%- endmacro %}

{% macro default__split_rows(relation, columns, text_expr, separator, alias) -%}
(
  select {% for column in columns %}{{ column }}, {% endfor -%}
         cast(generate_subscripts(parts, 1) as integer) as part_index, unnest(parts) as part
  from (
    select {% for column in columns %}{{ relation }}.{{ column }}, {% endfor -%}
           string_split(cast({{ text_expr }} as varchar), '{{ separator }}') as parts
    from {{ relation }}
  ) as {{ alias }}_lists
) as {{ alias }}
{%- endmacro %}

{% macro postgres__split_rows(relation, columns, text_expr, separator, alias) -%}
(
  select {% for column in columns %}{{ relation }}.{{ column }}, {% endfor -%}
         cast(split.ord as integer) as part_index, split.part
  from {{ relation }}
  cross join lateral regexp_split_to_table(cast({{ text_expr }} as text), '{{ separator }}')
       with ordinality as split(part, ord)
) as {{ alias }}
{%- endmacro %}
