{#- T3 (§3.3.3): reminder_days_before of each chosen user_settings row → reminderDaysBefore JSON text. -#}
with

settings as (
    select
        user_settings_id,
        reminder_days_before,
        {{ json_parse('reminder_days_before') }} as parsed,
        {{ json_is_invalid('reminder_days_before') }} as is_unparseable
    from {{ ref('int_users__settings_resolved') }}
    where is_chosen
),

items as (
    select
        reminder_items.user_settings_id,
        reminder_items.item_index,
        case
            when {{ json_kind('reminder_items.item') }} = 'number'
                 and {{ regex_match(json_scalar_text('reminder_items.item'), '^-?[0-9]{1,9}([.]0+)?$') }}
            then cast({{ regex_group(json_scalar_text('reminder_items.item'), "'^(-?[0-9]+)'", 1) }} as bigint)
        end as day_count
    from {{ json_array_rows('settings', ['user_settings_id'], 'settings.parsed', 'reminder_items') }}
),

kept_days as (
    select distinct user_settings_id, day_count
    from items
    where day_count between 1 and 365
),

array_summary as (
    select
        items.user_settings_id,
        count(*) as item_count
    from items
    group by items.user_settings_id
),

kept_summary as (
    select
        user_settings_id,
        count(*) as kept_count,
        '[' || string_agg(cast(day_count as varchar), ',' order by day_count) || ']' as kept_json
    from kept_days
    group by user_settings_id
),

scalars as (
    select
        settings.user_settings_id,
        case
            when {{ json_kind('settings.parsed') }} = 'number'
                 and {{ regex_match(json_scalar_text('settings.parsed'), '^-?[0-9]{1,9}([.]0+)?$') }}
            then cast({{ regex_group(json_scalar_text('settings.parsed'), "'^(-?[0-9]+)'", 1) }} as bigint)
        end as day_count
    from settings
),

final as (
    select
        settings.user_settings_id,
        settings.reminder_days_before as reminder_days_original,
        case
            when {{ json_kind('settings.parsed') }} = 'array' then coalesce(kept_summary.kept_json, '[1,3,7,14,30]')
            when scalars.day_count = 7 then '[1,3,7,14,30]'
            when scalars.day_count between 1 and 365 then '[' || cast(scalars.day_count as varchar) || ']'
            else '[1,3,7,14,30]'
        end as reminder_days_json,
        case
            when settings.is_unparseable then 'DQ-22'
            when settings.parsed is null then null
            when {{ json_kind('settings.parsed') }} = 'array'
                 and coalesce(array_summary.item_count, 0) <> coalesce(kept_summary.kept_count, 0) then 'DQ-26'
            when {{ json_kind('settings.parsed') }} = 'array' then null
            when scalars.day_count between 1 and 365 then null
            else 'DQ-26'
        end as reminder_days_dq_id
    from settings
    left join array_summary on array_summary.user_settings_id = settings.user_settings_id
    left join kept_summary on kept_summary.user_settings_id = settings.user_settings_id
    left join scalars on scalars.user_settings_id = settings.user_settings_id
)

select * from final
