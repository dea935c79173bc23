{#- One row per loaded case: additionalRecruitmentMethods as a JSON array in v1 order (§3.7) and the
    aggregates that derived dates (§3.9.3), auto status (§3.9.7) and DQ-22/DQ-23 need. -#}
{{ config(pre_hook="{{ case_pieces_start(ref('int_cases__scalars')) }}", post_hook="{{ case_pieces_insert_rest() }}") }}
with kept as (
    select *
    from {{ ref('int_cases__recruitment_method_items') }}
    where fate = 'kept' and {{ in_case_piece('case_id') }}
),

per_case as (
    select
        case_id,
        '[' || {{ ordered_string_agg(
            "'{\"method\":' || " ~ json_string('method')
            ~ " || ',\"date\":' || " ~ json_string('method_date')
            ~ " || coalesce(',\"description\":' || " ~ json_string('description') ~ ", '')"
            ~ " || '}'", "','", ['item_position']) }} || ']' as methods_json,
        count(*) as method_count,
        count(distinct method) as distinct_method_count,
        max(case when method_date <> '' then method_date end) as latest_method_date,
        count(case when method <> '' and method_date <> '' then 1 end) as complete_method_count
    from kept
    group by case_id
)

select
    scalars.case_id,
    coalesce(per_case.methods_json, '[]') as methods_json,
    coalesce(per_case.method_count, 0) as method_count,
    coalesce(per_case.distinct_method_count, 0) as distinct_method_count,
    per_case.latest_method_date,
    coalesce(per_case.complete_method_count, 0) as complete_method_count,
    stg.additional_recruitment_methods_raw,
    stg.additional_recruitment_methods_raw is not null
        and coalesce({{ json_kind(json_parse('stg.additional_recruitment_methods_raw')) }}, 'invalid') <> 'array'
        and {{ json_parse('stg.additional_recruitment_methods_raw') }} is not null
        or {{ json_is_invalid('stg.additional_recruitment_methods_raw') }} as methods_not_array
from {{ ref('int_cases__scalars') }} as scalars
inner join {{ ref('stg_supabase__cases') }} as stg
    on stg.case_id = scalars.case_id
left join per_case
    on per_case.case_id = scalars.case_id
where {{ in_case_piece('scalars.case_id') }}
