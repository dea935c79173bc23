{#- §5.2: every distinct v1 user reference value resolved to an identity, in the order app_users.id →
    app_users.auth_user_id → auth.users.id. A value absent from this model is unresolved (DQ-06). -#}
with

identity_groups as (
    select * from {{ ref('int_users__identity_groups') }}
),

app_users as (
    select * from {{ ref('stg_supabase__app_users') }}
),

auth_users as (
    select * from {{ ref('stg_supabase__auth_users') }}
),

reference_values as (
    select app_user_id as user_ref from app_users where app_user_id is not null
    union
    select auth_user_id from app_users where auth_user_id is not null
    union
    select auth_user_id from auth_users where auth_user_id is not null
),

by_app_id as (
    select app_users.app_user_id as user_ref, identity_groups.identity_id
    from app_users
    inner join identity_groups on identity_groups.app_user_id = app_users.app_user_id
),

by_app_auth_user_id as (
    select app_users.auth_user_id as user_ref, min(identity_groups.identity_id) as identity_id
    from app_users
    inner join identity_groups on identity_groups.app_user_id = app_users.app_user_id
    where app_users.auth_user_id is not null
    group by app_users.auth_user_id
),

by_auth_id as (
    select identity_groups.auth_user_id as user_ref, identity_groups.identity_id
    from identity_groups
    where identity_groups.auth_user_id is not null
),

resolved as (
    select
        reference_values.user_ref,
        case
            when by_app_id.identity_id is not null then 'app_users.id'
            when by_app_auth_user_id.identity_id is not null then 'app_users.auth_user_id'
            when by_auth_id.identity_id is not null then 'auth.users.id'
        end as resolution_rule,
        coalesce(by_app_id.identity_id, by_app_auth_user_id.identity_id, by_auth_id.identity_id) as identity_id
    from reference_values
    left join by_app_id on by_app_id.user_ref = reference_values.user_ref
    left join by_app_auth_user_id on by_app_auth_user_id.user_ref = reference_values.user_ref
    left join by_auth_id on by_auth_id.user_ref = reference_values.user_ref
),

final as (
    select
        resolved.user_ref,
        resolved.resolution_rule,
        resolved.identity_id,
        identity_groups.group_email,
        identity_groups.identity_outcome,
        identity_groups.identity_reason,
        identity_groups.is_winner,
        identity_groups.is_merged_loser
    from resolved
    inner join identity_groups on identity_groups.identity_id = resolved.identity_id
)

select * from final
