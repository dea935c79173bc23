with

source as (
    select * from {{ source('supabase', 'app_users') }}
),

parsed as (
    select
        source.*,
        {{ json_parse('source.notification_preferences') }} as notification_prefs,
        {{ json_parse('source.calendar_sync_preferences') }} as calendar_prefs
    from source
),

final as (
    select
        lower({{ clean_text('parsed.id') }}) as app_user_id,
        lower({{ clean_text('parsed.auth_user_id') }}) as auth_user_id,
        parsed.email as email_original,
        {{ email_norm('parsed.email') }} as email_norm,
        {{ is_valid_email(email_norm('parsed.email')) }} as is_email_valid,
        {{ clean_text('parsed.full_name') }} as full_name,
        {{ clean_text('parsed.phone') }} as phone,
        {{ clean_text('parsed.job_title') }} as job_title,
        {{ clean_text('parsed.company') }} as company,
        {{ clean_text('parsed.profile_photo_url') }} as profile_photo_url,
        {{ clean_text('parsed.user_type') }} as user_type,
        lower({{ clean_text('parsed.firm_id') }}) as firm_id,
        {{ clean_text('parsed.firm_name') }} as firm_name,
        {{ json_member_bool('parsed.notification_prefs', 'email_enabled') }} as legacy_email_enabled,
        {{ json_member_bool('parsed.notification_prefs', 'deadline_reminders') }} as legacy_deadline_reminders,
        {{ json_member_bool('parsed.notification_prefs', 'status_updates') }} as legacy_status_updates,
        {{ json_member_bool('parsed.notification_prefs', 'rfe_alerts') }} as legacy_rfe_alerts,
        {{ clean_text('parsed.notification_email') }} as notification_email,
        parsed.notification_sms,
        parsed.urgent_deadline_days,
        parsed.privacy_mode_enabled,
        parsed.calendar_sync_enabled,
        {{ json_member_bool('parsed.calendar_prefs', 'sync_recruitment') }} as legacy_sync_recruitment,
        {{ json_member_bool('parsed.calendar_prefs', 'sync_filing_windows') }} as legacy_sync_filing_windows,
        {{ json_member_bool('parsed.calendar_prefs', 'sync_rfi_deadlines') }} as legacy_sync_rfi_deadlines,
        parsed.calendar_sync_pwd,
        parsed.calendar_sync_eta9089,
        parsed.calendar_sync_i140,
        parsed.calendar_sync_rfe,
        parsed.calendar_sync_rfi,
        parsed.calendar_sync_recruitment,
        parsed.calendar_sync_filing_window,
        {{ email_norm(clean_text('parsed.google_email')) }} as google_email_norm,
        parsed.created_at,
        {{ epoch_ms('parsed.created_at') }} as created_ms,
        parsed.updated_at,
        {{ epoch_ms('parsed.updated_at') }} as updated_ms,
        parsed.deleted_at,
        {{ epoch_ms('parsed.deleted_at') }} as deleted_ms,
        {%- for column in ['created_at', 'updated_at', 'deleted_at'] %}
        {{ unreadable_timestamp('parsed.' ~ column) }} as {{ column }}_unreadable,
        {%- endfor %}
        {{ dirty_text_columns('parsed', ['full_name', 'phone', 'job_title', 'company', 'profile_photo_url', 'firm_name']) }} as dirty_text_columns,
        {{ json_is_invalid('parsed.notification_preferences') }} as is_notification_preferences_invalid,
        {{ json_is_double_encoded('parsed.notification_preferences') }} as is_notification_preferences_double_encoded,
        coalesce({{ json_kind('parsed.notification_prefs') }} <> 'object', false) as is_notification_preferences_wrong_shape,
        {{ json_is_invalid('parsed.calendar_sync_preferences') }} as is_calendar_sync_preferences_invalid,
        {{ json_is_double_encoded('parsed.calendar_sync_preferences') }} as is_calendar_sync_preferences_double_encoded,
        coalesce({{ json_kind('parsed.calendar_prefs') }} <> 'object', false) as is_calendar_sync_preferences_wrong_shape,
        {{ row_json('parsed', ['id', 'auth_user_id', 'email', 'full_name', 'phone', 'job_title', 'company',
            'profile_photo_url', 'user_type', 'firm_id', 'firm_name', 'notification_preferences', 'notification_email',
            'notification_sms', 'urgent_deadline_days', 'privacy_mode_enabled', 'calendar_sync_enabled',
            'calendar_sync_preferences', 'calendar_sync_pwd', 'calendar_sync_eta9089', 'calendar_sync_i140',
            'calendar_sync_rfe', 'calendar_sync_rfi', 'calendar_sync_recruitment', 'calendar_sync_filing_window',
            'google_email', 'created_at', 'updated_at', 'deleted_at']) }} as source_row
    from parsed
)

select * from final
