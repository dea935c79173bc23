{#- §3.3.5 step 7: the kept, deduplicated dismissed-deadline items of each user group, ordered by dismissedAt, case, type, as JSON text (caseLegacyId is the key member). -#}
with

deduplicated as (
    select * from {{ ref('int_users__dismissed_deadline_items') }}
    where drop_reason is null and not is_duplicate
),

final as (
    select
        deduplicated.group_email,
        count(*) as item_count,
        '[' || string_agg(
            '{"caseLegacyId":' || {{ json_string('deduplicated.case_id') }}
            || ',"deadlineType":' || {{ json_string('deduplicated.deadline_type') }}
            || ',"dismissedAt":' || cast(deduplicated.dismissed_at as varchar) || '}',
            ',' order by deduplicated.dismissed_at, {{ text_sort_key('deduplicated.case_id') }},
                {{ text_sort_key('deduplicated.deadline_type') }}
        ) || ']' as dismissed_deadlines_json
    from deduplicated
    group by deduplicated.group_email
)

select * from final
