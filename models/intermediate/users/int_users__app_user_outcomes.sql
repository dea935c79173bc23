{{ users_identity_row_outcomes('stg_supabase__app_users', 'app_user_id', 'public.' ~ var('v1_user_table')) }}
