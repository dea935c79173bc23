{#- Aggregate macros shared by all models (docs/INTERFACES.md §2). -#}

{#- The non-NULL values of a group joined with `separator`, in ascending order of the `order_by`
    expressions (a list; keys are never NULL, ties are broken by the value); NULL when the group has
    no non-NULL value. Same result as `string_agg(value, separator order by order_by)`. -#}
{% macro ordered_string_agg(value, separator, order_by) -%}
  {{ return(adapter.dispatch('ordered_string_agg', 'perm_migration')(value, separator, order_by)) }}
{%- endmacro %}

{#- DuckDB sorts every group of an ordered aggregate on its own, several times slower than an
    unordered `list` sorted afterwards (structs sort field by field: the keys, then the value). -#}
{% macro default__ordered_string_agg(value, separator, order_by) -%}
array_to_string(list_transform(list_sort(list(struct_pack(
    {%- for key in order_by %}sort_key_{{ loop.index }} := {{ key }}, {% endfor -%}
    agg_value := {{ value }})) filter (where ({{ value }}) is not null)),
  lambda agg_item: agg_item.agg_value), {{ separator }})
{%- endmacro %}

{% macro postgres__ordered_string_agg(value, separator, order_by) -%}
string_agg({{ value }}, {{ separator }} order by {{ order_by | join(', ') }})
{%- endmacro %}
