{{ users_owned_rows(ref('stg_supabase__user_settings'), ref('int_users__references'), 'user_settings_id', ['reminder_days_before', 'dismissed_deadlines']) }}
