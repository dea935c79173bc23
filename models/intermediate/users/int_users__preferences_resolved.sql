{{ users_owned_rows('stg_supabase__user_preferences', 'user_preferences_id', 'user_preferences', ['dismissed_deadlines']) }}
