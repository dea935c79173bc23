{{ users_owned_row_outcomes('int_users__preferences_resolved', 'user_preferences_id', 'public.user_preferences') }}
