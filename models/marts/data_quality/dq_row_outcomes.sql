{#- One row per extracted source row of every reconciled table (§4.1): the union of the int_outcomes__* models. -#}
{%- set outcome_models = ['int_outcomes__auth_users', 'int_outcomes__app_users', 'int_outcomes__user_settings',
    'int_outcomes__user_preferences', 'int_outcomes__cases', 'int_outcomes__case_rfi', 'int_outcomes__case_rfe'] -%}
with

{% for model_name in outcome_models -%}
{{ model_name }} as (
    select
        cast(source_table as varchar) as source_table,
        cast(v1_id as varchar) as v1_id,
        cast(outcome as varchar) as outcome,
        cast(reason as varchar) as reason,
        cast(dq_id as varchar) as dq_id,
        cast(field as varchar) as field,
        cast(value as varchar) as value,
        cast(message as varchar) as message,
        cast(source_row as varchar) as source_row
    from {{ ref(model_name) }}
),

{% endfor -%}
final as (
    {% for model_name in outcome_models -%}
    select * from {{ model_name }}
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}
)

select * from final
