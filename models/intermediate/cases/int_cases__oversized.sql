{#- One row per v1 case holding a JSON column too large for any v2 document or array (DQ-27, checked on
    the source value before any model parses it: json_oversize_problem): the first such column in
    column order and every such column with its problem. The case is quarantined (int_cases__ownership).
    One column per branch of the union: each column's values are parsed apart from the others'. -#}
{%- set json_columns = [
    'additional_recruitment_methods', 'rfi_list', 'rfe_list', 'rfi_documents', 'rfe_documents', 'notes',
    'tags', 'documents', 'calendar_event_ids'] -%}

with checked as (
    {%- for column in json_columns %}
    {{ 'union all' if not loop.first }}
    select case_id, {{ loop.index }} as column_order, '{{ column }}' as field,
        '{{ column }} ' || {{ json_oversize_problem(column ~ '_raw') }} as problem
    from {{ ref('stg_supabase__cases') }}
    {%- endfor %}
),

problems as (
    select * from checked where problem is not null
),

ranked as (
    select problems.*, row_number() over (partition by case_id order by column_order) as problem_rank
    from problems
)

select
    case_id,
    max(case when problem_rank = 1 then field end) as field,
    {{ ordered_string_agg('problem', "'; '", ['column_order']) }} as problems
from ranked
group by case_id
