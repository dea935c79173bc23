{#- §3.3.5 steps 1–6: every dismissed-deadline item of a profile's S and P rows, parsed, mapped to a
    loaded case of the same user group, with its v2 type and dismissedAt, why it is dropped, and whether it duplicates an earlier kept item. -#}
with

profiles as (
    select * from {{ ref('int_users__profiles') }}
),

settings as (
    select * from {{ ref('int_users__settings_resolved') }} where is_chosen
),

preferences as (
    select * from {{ ref('int_users__preferences_resolved') }} where is_chosen
),

loaded_cases as (
    select * from {{ ref('int_cases__loaded') }}
),

deadline_types as (
    select * from {{ ref('users_deadline_types') }}
),

item_lists as (
    select
        profiles.group_email,
        profiles.updated_at as profile_updated_at,
        1 as list_order,
        'public.user_settings' as source_table,
        settings.user_settings_id as v1_id,
        {{ json_parse('settings.dismissed_deadlines') }} as parsed
    from profiles
    inner join settings on settings.user_settings_id = profiles.user_settings_id
    union all
    select
        profiles.group_email,
        profiles.updated_at,
        2,
        'public.user_preferences',
        preferences.user_preferences_id,
        {{ json_parse('preferences.dismissed_deadlines') }}
    from profiles
    inner join preferences on preferences.user_preferences_id = profiles.user_preferences_id
),

items as (
    select
        list_items.group_email,
        list_items.profile_updated_at,
        list_items.list_order,
        list_items.source_table,
        list_items.v1_id,
        list_items.item_index,
        {{ json_kind('list_items.item') }} as item_kind,
        case when {{ json_kind('list_items.item') }} = 'object' then {{ json_member_text('list_items.item', 'case_id') }}
             when {{ json_kind('list_items.item') }} = 'string' then {{ json_scalar_text('list_items.item') }}
        end as item_text,
        case when {{ json_kind('list_items.item') }} = 'object'
             then lower({{ clean_text(json_member_text('list_items.item', 'case_id')) }})
             else lower({{ regex_group(json_scalar_text('list_items.item'), "'^([0-9a-fA-F-]{36})[:_|/](.+)$'", 1) }})
        end as case_id,
        case when {{ json_kind('list_items.item') }} = 'object'
             then {{ clean_text(json_member_text('list_items.item', 'deadline_type')) }}
             else {{ clean_text(regex_group(json_scalar_text('list_items.item'), "'^([0-9a-fA-F-]{36})[:_|/](.+)$'", 2)) }}
        end as deadline_type_original,
        {{ json_kind(json_member('list_items.item', 'dismissed_at')) }} as dismissed_at_kind,
        {{ json_scalar_text(json_member('list_items.item', 'dismissed_at')) }} as dismissed_at_original
    from {{ json_array_rows('item_lists', ['group_email', 'profile_updated_at', 'list_order', 'source_table', 'v1_id'], 'item_lists.parsed', 'list_items') }}
),

mapped as (
    select
        items.*,
        coalesce(deadline_types.v2_deadline_type, items.deadline_type_original) as deadline_type,
        deadline_types.v2_deadline_type is null as is_deadline_type_unknown,
        loaded_cases.case_id as loaded_case_id,
        loaded_cases.owner_email as case_owner_email,
        case
            when items.dismissed_at_kind = 'number'
                 and {{ regex_match('items.dismissed_at_original', '^-?[0-9]{1,15}([.][0-9]+)?$') }}
                then cast({{ regex_group('items.dismissed_at_original', "'^(-?[0-9]+)'", 1) }} as bigint)
            when items.dismissed_at_kind = 'string' then {{ iso_text_to_ms('items.dismissed_at_original') }}
        end as dismissed_at_parsed
    from items
    left join deadline_types on deadline_types.v1_deadline_type = lower(items.deadline_type_original)
    left join loaded_cases on loaded_cases.case_id = items.case_id
),

checked as (
    select
        mapped.group_email,
        mapped.source_table,
        mapped.v1_id,
        mapped.list_order,
        mapped.item_index,
        mapped.item_kind,
        mapped.item_text,
        mapped.case_id,
        mapped.deadline_type_original,
        mapped.deadline_type,
        mapped.dismissed_at_original,
        coalesce(mapped.dismissed_at_parsed, mapped.profile_updated_at) as dismissed_at,
        (mapped.dismissed_at_original is not null and mapped.dismissed_at_parsed is null) as is_dismissed_at_invalid,
        case
            when mapped.item_kind = 'null' then 'null item'
            when mapped.item_kind not in ('object', 'string') then 'unparseable item'
            when mapped.case_id is null or mapped.deadline_type_original is null then 'unparseable item'
            when mapped.loaded_case_id is null then 'case not loaded'
            when mapped.case_owner_email <> mapped.group_email then 'case belongs to another user'
        end as drop_reason,
        mapped.is_deadline_type_unknown
    from mapped
),

final as (
    select
        checked.*,
        case when checked.drop_reason is null then
            row_number() over (
                partition by checked.group_email, checked.drop_reason, checked.case_id, checked.deadline_type
                order by checked.dismissed_at, checked.list_order, checked.item_index
            ) > 1
        else false end as is_duplicate
    from checked
)

select * from final
