{#- One row per reconciled source table (auth.identities is exempt): extracted rows counted from staging,
    outcomes counted from int_data_quality__row_outcomes, balanced when extracted = loaded + rejected + Σ excluded (§4.1). -#}
{%- set staged_tables = [
    ('auth.users', 'stg_supabase__auth_users'),
    ('public.' ~ var('v1_user_table'), 'stg_supabase__app_users'),
    ('public.user_settings', 'stg_supabase__user_settings'),
    ('public.user_preferences', 'stg_supabase__user_preferences'),
    ('public.cases', 'stg_supabase__cases'),
    ('public.case_rfi', 'stg_supabase__case_rfi'),
    ('public.case_rfe', 'stg_supabase__case_rfe')] -%}
{%- set reasons = ['soft_deleted', 'banned', 'anonymous', 'owner_excluded', 'merged', 'superseded'] -%}
with

extracted as (
    {% for source_table, model_name in staged_tables -%}
    select '{{ source_table }}' as source_table, {{ loop.index }} as table_order, count(*) as extracted
    from {{ ref(model_name) }}
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}
),

row_outcomes as (
    select * from {{ ref('int_data_quality__row_outcomes') }}
),

outcome_counts as (
    select
        source_table,
        sum(case when outcome = 'loaded' then 1 else 0 end) as loaded,
        sum(case when outcome = 'rejected' then 1 else 0 end) as rejected,
        sum(case when outcome = 'excluded' then 1 else 0 end) as excluded,
        {% for reason in reasons -%}
        sum(case when outcome = 'excluded' and reason = '{{ reason }}' then 1 else 0 end) as excluded_{{ reason }},
        {% endfor -%}
        sum(case when outcome not in ('loaded', 'rejected', 'excluded') or outcome is null then 1 else 0 end) as unknown_outcome
    from row_outcomes
    group by source_table
),

final as (
    select
        extracted.source_table,
        extracted.table_order,
        cast(extracted.extracted as bigint) as extracted,
        cast(coalesce(outcome_counts.loaded, 0) as bigint) as loaded,
        cast(coalesce(outcome_counts.rejected, 0) as bigint) as rejected,
        cast(coalesce(outcome_counts.excluded, 0) as bigint) as excluded,
        {% for reason in reasons -%}
        cast(coalesce(outcome_counts.excluded_{{ reason }}, 0) as bigint) as excluded_{{ reason }},
        {% endfor -%}
        (
            extracted.extracted = coalesce(outcome_counts.loaded, 0) + coalesce(outcome_counts.rejected, 0)
                {%- for reason in reasons %} + coalesce(outcome_counts.excluded_{{ reason }}, 0){% endfor %}
            and coalesce(outcome_counts.unknown_outcome, 0) = 0
        ) as balanced
    from extracted
    left join outcome_counts on outcome_counts.source_table = extracted.source_table
)

select * from final
