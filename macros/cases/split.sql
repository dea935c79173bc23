{#- Lateral FROM-clause item: one row per part of text split on a separator:
    `<alias>.part_index` (1-based) and `<alias>.part` (text). NULL text gives no rows. -#}
{% macro cases_split_parts(text_expr, separator, alias) -%}
  {{ return(adapter.dispatch('cases_split_parts', 'perm_migration')(text_expr, separator, alias)) }}
{%- endmacro %}

{% macro default__cases_split_parts(text_expr, separator, alias) -%}
lateral (
  select cast(part_index as integer) as part_index, part
  from (select unnest(string_split(cast({{ text_expr }} as varchar), '{{ separator }}')) as part,
               unnest(generate_series(1, len(string_split(cast({{ text_expr }} as varchar), '{{ separator }}')))) as part_index)
) as {{ alias }}
{%- endmacro %}

{% macro postgres__cases_split_parts(text_expr, separator, alias) -%}
lateral (
  select cast(split.ord as integer) as part_index, split.part
  from regexp_split_to_table(cast({{ text_expr }} as text), '{{ separator }}') with ordinality as split(part, ord)
) as {{ alias }}
{%- endmacro %}
