{{ users_owned_row_outcomes(ref('int_users__preferences_resolved'), 'user_preferences_id', 'public.user_preferences') }}
