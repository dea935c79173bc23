{{ users_owned_row_outcomes(ref('int_users__settings_resolved'), 'user_settings_id', 'public.user_settings') }}
