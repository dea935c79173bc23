{#- §3.2 steps 1–4: link app_users to auth.users (L1–L3), identity email (DQ-07/DQ-09), policy exclusions (DQ-03). -#}
with

auth_users as (
    select * from {{ ref('stg_supabase__auth_users') }}
),

app_users as (
    select * from {{ ref('stg_supabase__app_users') }}
),

{# An auth row named by several app rows' auth_user_id (no constraint is relied on) links to the
   smallest app_users.id, the row a reference to that auth id resolves to (§5.2 step 2); the others
   try L2 and L3 and may end up app-only (DQ-05). #}
links_l1 as (
    select min(app_users.app_user_id) as app_user_id, auth_users.auth_user_id, 'L1' as link_rule
    from app_users
    inner join auth_users on auth_users.auth_user_id = app_users.auth_user_id
    group by auth_users.auth_user_id
),

links_l2 as (
    select app_users.app_user_id, auth_users.auth_user_id, 'L2' as link_rule
    from app_users
    inner join auth_users on auth_users.auth_user_id = app_users.app_user_id
    where not exists (select 1 from links_l1 where links_l1.app_user_id = app_users.app_user_id)
      and not exists (select 1 from links_l1 where links_l1.auth_user_id = auth_users.auth_user_id)
),

links_before_l3 as (
    select * from links_l1
    union all
    select * from links_l2
),

unlinked_app as (
    select app_users.app_user_id, app_users.email_norm
    from app_users
    where app_users.email_norm <> ''
      and not exists (select 1 from links_before_l3 where links_before_l3.app_user_id = app_users.app_user_id)
),

unlinked_auth as (
    select auth_users.auth_user_id, auth_users.email_norm
    from auth_users
    where auth_users.email_norm <> ''
      and not exists (select 1 from links_before_l3 where links_before_l3.auth_user_id = auth_users.auth_user_id)
),

links_l3 as (
    select min(unlinked_app.app_user_id) as app_user_id, min(unlinked_auth.auth_user_id) as auth_user_id, 'L3' as link_rule
    from unlinked_app
    inner join unlinked_auth on unlinked_auth.email_norm = unlinked_app.email_norm
    group by unlinked_app.email_norm
    having count(distinct unlinked_app.app_user_id) = 1 and count(distinct unlinked_auth.auth_user_id) = 1
),

links as (
    select * from links_before_l3
    union all
    select * from links_l3
),

identity_rows as (
    select links.app_user_id, links.auth_user_id, links.link_rule from links
    union all
    select app_users.app_user_id, null, null
    from app_users
    where not exists (select 1 from links where links.app_user_id = app_users.app_user_id)
    union all
    select null, auth_users.auth_user_id, null
    from auth_users
    where not exists (select 1 from links where links.auth_user_id = auth_users.auth_user_id)
),

joined as (
    select
        coalesce('app:' || identity_rows.app_user_id, 'auth:' || identity_rows.auth_user_id) as identity_id,
        identity_rows.app_user_id,
        identity_rows.auth_user_id,
        identity_rows.link_rule,
        app_users.auth_user_id as app_auth_user_id,
        {#- legacyAuthId (§3.3): the linked auth row, else A.auth_user_id unless an auth row with that id
            is linked to another app_users row (the L1 tie), so no two profiles claim one auth account. #}
        coalesce(identity_rows.auth_user_id, case when named_auth.auth_user_id is null then app_users.auth_user_id end)
            as legacy_auth_id,
        app_users.email_norm as app_email_norm,
        coalesce(app_users.is_email_valid, false) as is_app_email_valid,
        auth_users.email_norm as auth_email_norm,
        coalesce(auth_users.is_email_valid, false) as is_auth_email_valid,
        (app_users.deleted_at is not null or auth_users.deleted_at is not null) as is_soft_deleted,
        case
            when app_users.deleted_ms is null then auth_users.deleted_ms
            when auth_users.deleted_ms is null then app_users.deleted_ms
            when app_users.deleted_ms > auth_users.deleted_ms then app_users.deleted_ms
            else auth_users.deleted_ms
        end as deleted_ms,
        (coalesce(auth_users.banned_until_ms > {{ as_of_ms() }}, false)
            or coalesce(auth_users.is_banned_forever, false)) as is_banned,
        coalesce(auth_users.is_anonymous, false) as is_anonymous,
        app_users.updated_at as app_updated_at,
        auth_users.updated_at as auth_updated_at,
        app_users.created_at as app_created_at,
        auth_users.created_at as auth_created_at,
        auth_users.last_sign_in_at as auth_last_sign_in_at
    from identity_rows
    left join app_users on app_users.app_user_id = identity_rows.app_user_id
    left join auth_users on auth_users.auth_user_id = identity_rows.auth_user_id
    left join (select distinct auth_user_id from auth_users) as named_auth
        on named_auth.auth_user_id = app_users.auth_user_id
),

final as (
    select
        joined.*,
        case
            when joined.is_auth_email_valid then joined.auth_email_norm
            when joined.is_app_email_valid then joined.app_email_norm
        end as identity_email,
        case
            when joined.is_auth_email_valid and joined.is_app_email_valid
                 and joined.auth_email_norm <> joined.app_email_norm then joined.app_email_norm
        end as secondary_email,
        case
            when joined.is_anonymous then 'anonymous'
            when joined.is_soft_deleted and not {{ bool_var('include_soft_deleted_users') }} then 'soft_deleted'
            when joined.is_banned and not {{ bool_var('include_banned_users') }} then 'banned'
        end as exclusion_reason
    from joined
)

select * from final
