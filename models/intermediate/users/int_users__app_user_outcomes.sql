{{ users_identity_row_outcomes(ref('stg_supabase__app_users'), ref('int_users__identity_groups'), 'app_user_id', 'public.' ~ var('v1_user_table')) }}
