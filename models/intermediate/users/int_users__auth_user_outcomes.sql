{{ users_identity_row_outcomes('stg_supabase__auth_users', 'auth_user_id', 'auth.users') }}
