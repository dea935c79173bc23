with

source as (
    select * from {{ source('supabase', 'user_settings') }}
),

final as (
    select
        lower({{ clean_text('source.id') }}) as user_settings_id,
        lower({{ clean_text('source.user_id') }}) as user_ref,
        source.email_notifications_enabled,
        source.email_deadline_reminders,
        source.email_status_updates,
        source.email_rfe_alerts,
        {{ clean_text('source.reminder_days_before') }} as reminder_days_before,
        source.quiet_hours_enabled,
        {{ clean_text('source.quiet_hours_start') }} as quiet_hours_start,
        {{ clean_text('source.quiet_hours_end') }} as quiet_hours_end,
        source.timezone as timezone_original,
        {{ clean_text('source.timezone') }} as timezone,
        {{ clean_text('source.preferred_notification_email') }} as preferred_notification_email,
        source.dismissed_deadlines,
        {{ json_is_double_encoded('source.dismissed_deadlines') }} as is_dismissed_deadlines_double_encoded,
        source.created_at,
        source.updated_at,
        {{ epoch_ms('source.updated_at') }} as updated_ms,
        {{ unreadable_timestamp('source.updated_at') }} as updated_at_unreadable,
        {{ row_json('source', ['id', 'user_id', 'email_notifications_enabled', 'email_deadline_reminders',
            'email_status_updates', 'email_rfe_alerts', 'reminder_days_before', 'quiet_hours_enabled',
            'quiet_hours_start', 'quiet_hours_end', 'timezone', 'preferred_notification_email',
            'dismissed_deadlines', 'created_at', 'updated_at']) }} as source_row
    from source
)

select * from final
