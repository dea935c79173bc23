{#- The union of `relations` (a mapping import CTE name → relation, in union order), each reduced to
    `columns` cast to varchar (one import CTE per relation), as the body of a CTE list ending in `final`:
    for models that gather same-shaped intermediate models (int_data_quality__row_outcomes,
    int_data_quality__findings). -#}
{% macro union_as_text(relations, columns) -%}
{% for cte_name, relation in relations.items() -%}
{{ cte_name }} as (
    select
        {%- for column in columns %}
        cast({{ column }} as varchar) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ relation }}
),

{% endfor -%}
final as (
    {% for cte_name in relations -%}
    select * from {{ cte_name }}
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}
)
{%- endmacro %}
