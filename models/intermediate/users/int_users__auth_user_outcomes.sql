{{ users_identity_row_outcomes(ref('stg_supabase__auth_users'), ref('int_users__identity_groups'), 'auth_user_id', 'auth.users') }}
