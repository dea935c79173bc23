{#- §3.2 users fields and §3.3 userProfiles fields for each user group, from the winner's app row A, auth
    row U, chosen user_settings S and user_preferences P (precedence S → A → A legacy JSON → default). -#}
with

identity_groups as (
    select * from {{ ref('int_users__identity_groups') }}
),

app_users as (
    select * from {{ ref('stg_supabase__app_users') }}
),

auth_users as (
    select * from {{ ref('stg_supabase__auth_users') }}
),

settings as (
    select * from {{ ref('int_users__settings_resolved') }} where is_chosen
),

preferences as (
    select * from {{ ref('int_users__preferences_resolved') }} where is_chosen
),

reminder_days as (
    select * from {{ ref('int_users__reminder_days') }}
),

user_references as (
    select * from {{ ref('int_users__references') }}
),

user_types as (
    select * from {{ ref('users_user_types') }}
),

sort_by_map as (
    select * from {{ ref('users_cases_sort_by') }}
),

timezones as (
    select * from {{ ref('users_iana_timezones') }}
),

winners as (
    select * from identity_groups where is_winner
),

merged_rows as (
    select
        identity_groups.identity_email as group_email,
        '[' || string_agg(
            '{"v1_table":"' || identity_groups.v1_table || '","v1_uuid":' || {{ json_string('identity_groups.v1_uuid') }}
            || ',"merged":' || case when identity_groups.is_winner then 'false' else 'true' end || '}',
            ',' order by {{ text_sort_key('identity_groups.v1_table') }}, {{ text_sort_key('identity_groups.v1_uuid') }}
        ) || ']' as v1_rows_json
    from (
        select identity_email, is_winner, 'app_users' as v1_table, app_user_id as v1_uuid
        from identity_groups where identity_outcome = 'loaded' and app_user_id is not null
        union all
        select identity_email, is_winner, 'auth.users' as v1_table, auth_user_id as v1_uuid
        from identity_groups where identity_outcome = 'loaded' and auth_user_id is not null
    ) as identity_groups
    group by identity_groups.identity_email
),

sources as (
    select
        winners.identity_id,
        winners.identity_email as group_email,
        winners.secondary_email,
        winners.is_soft_deleted,
        winners.deleted_ms,
        winners.app_user_id,
        winners.auth_user_id,
        winners.legacy_auth_id,
        app_users.full_name as app_full_name,
        app_users.phone as app_phone,
        app_users.job_title,
        app_users.company,
        app_users.profile_photo_url,
        app_users.user_type as user_type_original,
        lower(app_users.user_type) as user_type_key,
        app_users.firm_id,
        app_users.firm_name,
        app_users.notification_email,
        app_users.notification_sms,
        app_users.urgent_deadline_days,
        app_users.privacy_mode_enabled,
        app_users.calendar_sync_enabled,
        app_users.calendar_sync_pwd,
        app_users.calendar_sync_eta9089,
        app_users.calendar_sync_i140,
        app_users.calendar_sync_rfe,
        app_users.calendar_sync_rfi,
        app_users.calendar_sync_recruitment,
        app_users.calendar_sync_filing_window,
        app_users.legacy_email_enabled,
        app_users.legacy_deadline_reminders,
        app_users.legacy_status_updates,
        app_users.legacy_rfe_alerts,
        app_users.legacy_sync_recruitment,
        app_users.legacy_sync_filing_windows,
        app_users.legacy_sync_rfi_deadlines,
        app_users.google_email_norm,
        app_users.created_ms as app_created_ms,
        app_users.updated_ms as app_updated_ms,
        auth_users.email_norm as auth_email_norm,
        auth_users.email_confirmed_ms,
        auth_users.is_google_signup,
        auth_users.meta_full_name,
        auth_users.meta_name,
        auth_users.meta_avatar_url,
        auth_users.meta_picture,
        auth_users.phone as auth_phone,
        auth_users.created_ms as auth_created_ms,
        settings.user_settings_id,
        settings.email_notifications_enabled,
        settings.email_deadline_reminders,
        settings.email_status_updates,
        settings.email_rfe_alerts,
        settings.quiet_hours_enabled as quiet_hours_enabled_original,
        settings.quiet_hours_start as quiet_hours_start_original,
        settings.quiet_hours_end as quiet_hours_end_original,
        settings.timezone as timezone_original,
        settings.preferred_notification_email,
        settings.updated_ms as settings_updated_ms,
        reminder_days.reminder_days_original,
        reminder_days.reminder_days_json,
        reminder_days.reminder_days_dq_id,
        preferences.user_preferences_id,
        preferences.cases_sort_by as cases_sort_by_original,
        lower(preferences.cases_sort_by) as cases_sort_by_key,
        preferences.cases_sort_order as cases_sort_order_original,
        lower(preferences.cases_sort_order) as cases_sort_order_key,
        preferences.cases_per_page as cases_per_page_original,
        preferences.updated_ms as preferences_updated_ms,
        firm_refs.group_email as firm_group_email,
        merged_rows.v1_rows_json
    from winners
    left join app_users on app_users.app_user_id = winners.app_user_id
    left join auth_users on auth_users.auth_user_id = winners.auth_user_id
    left join settings on settings.identity_id = winners.identity_id
    left join preferences on preferences.identity_id = winners.identity_id
    left join reminder_days on reminder_days.user_settings_id = settings.user_settings_id
    left join user_references as firm_refs
        on firm_refs.user_ref = app_users.firm_id and firm_refs.identity_outcome = 'loaded'
    left join merged_rows on merged_rows.group_email = winners.identity_email
),

quiet_hours as (
    select
        sources.identity_id,
        {% for side in ['start', 'end'] -%}
        cast({{ regex_group('sources.quiet_hours_' ~ side ~ '_original', "'^([0-9]{1,2}):([0-9]{2})(:([0-9]{2}))?$'", 1) }} as integer) as {{ side }}_hour,
        cast({{ regex_group('sources.quiet_hours_' ~ side ~ '_original', "'^([0-9]{1,2}):([0-9]{2})(:([0-9]{2}))?$'", 2) }} as integer) as {{ side }}_minute,
        cast({{ regex_group('sources.quiet_hours_' ~ side ~ '_original', "'^([0-9]{1,2}):([0-9]{2})(:([0-9]{2}))?$'", 4) }} as integer) as {{ side }}_second{{ ',' if not loop.last }}
        {% endfor %}
    from sources
),

quiet_hours_checked as (
    select
        quiet_hours.identity_id,
        {% for side in ['start', 'end'] -%}
        case
            when quiet_hours.{{ side }}_hour <= 23 and quiet_hours.{{ side }}_minute <= 59
                 and coalesce(quiet_hours.{{ side }}_second, 0) <= 59
            then lpad(cast(quiet_hours.{{ side }}_hour as varchar), 2, '0') || ':' || lpad(cast(quiet_hours.{{ side }}_minute as varchar), 2, '0')
        end as quiet_hours_{{ side }},
        coalesce(quiet_hours.{{ side }}_second, 0) between 1 and 59 as quiet_hours_{{ side }}_has_seconds{{ ',' if not loop.last }}
        {% endfor %}
    from quiet_hours
),

consolidated as (
    select
        sources.identity_id,
        sources.group_email,
        sources.secondary_email,
        sources.app_user_id,
        sources.auth_user_id,
        sources.v1_rows_json,
        sources.user_settings_id,
        sources.user_preferences_id,

        -- users (§3.2)
        coalesce(sources.app_full_name, sources.meta_full_name, sources.meta_name) as full_name,
        case
            when sources.profile_photo_url is not null and not {{ is_supabase_storage_url('sources.profile_photo_url') }} then sources.profile_photo_url
            when sources.meta_avatar_url is not null and not {{ is_supabase_storage_url('sources.meta_avatar_url') }} then sources.meta_avatar_url
            when sources.meta_picture is not null and not {{ is_supabase_storage_url('sources.meta_picture') }} then sources.meta_picture
        end as image,
        sources.profile_photo_url as profile_photo_url_original,
        sources.meta_avatar_url as meta_avatar_url_original,
        sources.meta_picture as meta_picture_original,
        {#- DQ-29 only for a Supabase URL that was skipped: one before the candidate used, or any when none is. -#}
        case
            when sources.profile_photo_url is not null then {{ is_supabase_storage_url('sources.profile_photo_url') }}
            when sources.meta_avatar_url is not null then {{ is_supabase_storage_url('sources.meta_avatar_url') }}
            else coalesce({{ is_supabase_storage_url('sources.meta_picture') }}, false)
        end as has_supabase_image,
        coalesce(sources.app_phone, sources.auth_phone) as phone,
        case
            when sources.auth_user_id is null then null
            when sources.email_confirmed_ms is not null then sources.email_confirmed_ms
            when sources.is_google_signup then sources.auth_created_ms
        end as email_verification_time,
        case when sources.is_soft_deleted then sources.deleted_ms end as deleted_at,

        -- userProfiles (§3.3)
        sources.app_user_id as legacy_id,
        sources.legacy_auth_id,
        sources.job_title,
        sources.company,
        case when not {{ is_supabase_storage_url('sources.profile_photo_url') }} then sources.profile_photo_url end as profile_photo_url,
        sources.user_type_original,
        case
            when user_types.v2_user_type is null then 'individual'
            when user_types.needs_firm and sources.firm_group_email is null then 'individual'
            else user_types.v2_user_type
        end as user_type,
        (sources.user_type_key is not null and user_types.v1_user_type is null) as is_user_type_unknown,
        sources.firm_id as firm_id_original,
        sources.firm_group_email as resolve_firm_email,
        sources.firm_name,
        coalesce(sources.email_notifications_enabled, sources.legacy_email_enabled, true) as email_notifications_enabled,
        coalesce(sources.notification_sms, false) as sms_notifications_enabled,
        case
            when sources.urgent_deadline_days between 1 and 90 then sources.urgent_deadline_days
            else 7
        end as urgent_deadline_days,
        sources.urgent_deadline_days as urgent_deadline_days_original,
        coalesce(sources.reminder_days_json, '[1,3,7,14,30]') as reminder_days_before,
        sources.reminder_days_original,
        sources.reminder_days_dq_id,
        coalesce(sources.email_deadline_reminders, sources.legacy_deadline_reminders, true) as email_deadline_reminders,
        coalesce(sources.email_status_updates, sources.legacy_status_updates, true) as email_status_updates,
        coalesce(sources.email_rfe_alerts, sources.legacy_rfe_alerts, true) as email_rfe_alerts,
        coalesce(sources.preferred_notification_email, sources.notification_email) as preferred_notification_email_original,
        case when sources.preferred_notification_email is not null then 'public.user_settings' else 'app_users' end
            as preferred_notification_email_source,
        case
            when lower(coalesce(sources.preferred_notification_email, sources.notification_email)) in ('signup', 'google', 'both')
                then lower(coalesce(sources.preferred_notification_email, sources.notification_email))
            when {{ email_norm('coalesce(sources.preferred_notification_email, sources.notification_email)') }}
                 in (sources.group_email, coalesce(sources.auth_email_norm, '')) then 'signup'
            when {{ email_norm('coalesce(sources.preferred_notification_email, sources.notification_email)') }}
                 = sources.google_email_norm then 'google'
            else 'signup'
        end as preferred_notification_email,
        (
            coalesce(sources.preferred_notification_email, sources.notification_email) is not null
            and lower(coalesce(sources.preferred_notification_email, sources.notification_email)) not in ('signup', 'google', 'both')
            and {{ email_norm('coalesce(sources.preferred_notification_email, sources.notification_email)') }}
                not in (sources.group_email, coalesce(sources.auth_email_norm, ''), coalesce(sources.google_email_norm, ''))
        ) as is_custom_notification_email,
        sources.quiet_hours_enabled_original,
        coalesce(sources.quiet_hours_enabled_original, false)
            and quiet_hours_checked.quiet_hours_start is not null
            and quiet_hours_checked.quiet_hours_end is not null as quiet_hours_enabled,
        sources.quiet_hours_start_original,
        sources.quiet_hours_end_original,
        quiet_hours_checked.quiet_hours_start,
        quiet_hours_checked.quiet_hours_end,
        quiet_hours_checked.quiet_hours_start_has_seconds,
        quiet_hours_checked.quiet_hours_end_has_seconds,
        sources.timezone_original,
        coalesce(timezones.timezone_name, 'America/New_York') as timezone,
        coalesce(sources.calendar_sync_enabled, true) as calendar_sync_enabled,
        coalesce(sources.calendar_sync_pwd, true) as calendar_sync_pwd,
        coalesce(sources.calendar_sync_eta9089, true) as calendar_sync_eta9089,
        coalesce(sources.calendar_sync_i140, true) as calendar_sync_i140,
        coalesce(sources.calendar_sync_rfe, true) as calendar_sync_rfe,
        coalesce(sources.calendar_sync_rfi, sources.legacy_sync_rfi_deadlines, true) as calendar_sync_rfi,
        coalesce(sources.calendar_sync_recruitment, sources.legacy_sync_recruitment, true) as calendar_sync_recruitment,
        coalesce(sources.calendar_sync_filing_window, sources.legacy_sync_filing_windows, true) as calendar_sync_filing_window,
        sources.cases_sort_by_original,
        case
            when sort_by_map.v2_sort_by is not null then sort_by_map.v2_sort_by
            when {{ regex_match('sources.cases_sort_by_original', '^[a-z]+([A-Z][a-z0-9]*)+$') }} then sources.cases_sort_by_original
            else 'updatedAt'
        end as cases_sort_by,
        (
            sources.cases_sort_by_original is not null and sort_by_map.v2_sort_by is null
            and not {{ regex_match('sources.cases_sort_by_original', '^[a-z]+([A-Z][a-z0-9]*)+$') }}
        ) as is_cases_sort_by_unknown,
        sources.cases_sort_order_original,
        case when sources.cases_sort_order_key in ('asc', 'desc') then sources.cases_sort_order_key else 'desc' end as cases_sort_order,
        sources.cases_per_page_original,
        case when sources.cases_per_page_original between 6 and 50 then sources.cases_per_page_original else 20 end as cases_per_page,
        coalesce(sources.privacy_mode_enabled, false) as privacy_mode_enabled,
        case
            when sources.app_created_ms is null and sources.auth_created_ms is null then {{ as_of_ms() }}
            when sources.app_created_ms is null then sources.auth_created_ms
            when sources.auth_created_ms is null then sources.app_created_ms
            when sources.app_created_ms < sources.auth_created_ms then sources.app_created_ms
            else sources.auth_created_ms
        end as created_at,
        (sources.app_user_id is not null and sources.app_created_ms is null) as is_app_created_at_missing,
        (sources.auth_user_id is not null and sources.auth_created_ms is null) as is_auth_created_at_missing,
        (
            select max(updated_ms)
            from (
                select sources.app_updated_ms as updated_ms
                union all select sources.settings_updated_ms
                union all select sources.preferences_updated_ms
            ) as candidates
        ) as updated_at_source
    from sources
    left join quiet_hours_checked on quiet_hours_checked.identity_id = sources.identity_id
    left join user_types on user_types.v1_user_type = sources.user_type_key
    left join sort_by_map on sort_by_map.v1_sort_by = sources.cases_sort_by_key
    left join timezones on timezones.timezone_name = sources.timezone_original
),

final as (
    select
        consolidated.*,
        case
            when consolidated.updated_at_source is null or consolidated.updated_at_source < consolidated.created_at
                then consolidated.created_at
            else consolidated.updated_at_source
        end as updated_at
    from consolidated
)

select * from final
