{{ users_owned_rows(ref('stg_supabase__user_preferences'), ref('int_users__references'), 'user_preferences_id', ['dismissed_deadlines']) }}
