{{ users_owned_rows('stg_supabase__user_settings', 'user_settings_id', 'user_settings', ['reminder_days_before', 'dismissed_deadlines']) }}
