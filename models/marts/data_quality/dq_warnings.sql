{#- One row per warning or info note of the data-quality report (§4.5), user side and case side. -#}
{%- set finding_models = ['int_findings__users', 'int_findings__cases'] -%}
with

{% for model_name in finding_models -%}
{{ model_name }} as (
    select
        cast(dq_id as varchar) as dq_id,
        cast(level as varchar) as level,
        cast(source_table as varchar) as source_table,
        cast(v1_id as varchar) as v1_id,
        cast(case_legacy_id as varchar) as case_legacy_id,
        cast(owner_email as varchar) as owner_email,
        cast(target_field as varchar) as target_field,
        cast(original_value as varchar) as original_value,
        cast(resulting_value as varchar) as resulting_value,
        cast(message as varchar) as message
    from {{ ref(model_name) }}
),

{% endfor -%}
final as (
    {% for model_name in finding_models -%}
    select * from {{ model_name }}
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}
)

select * from final
