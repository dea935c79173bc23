{#- The union of `model_names`, each reduced to `columns` cast to varchar (one import CTE per
    model), as the body of a CTE list ending in `final`: for marts that gather same-shaped
    intermediate models (dq_row_outcomes, dq_warnings). -#}
{% macro union_as_text(model_names, columns) -%}
{% for model_name in model_names -%}
{{ model_name }} as (
    select
        {%- for column in columns %}
        cast({{ column }} as varchar) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref(model_name) }}
),

{% endfor -%}
final as (
    {% for model_name in model_names -%}
    select * from {{ model_name }}
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}
)
{%- endmacro %}
