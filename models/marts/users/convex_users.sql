{#- One row per user group: the v2 `users` document (MAPPING_SPEC §2.2, §3.2). NULL = omit. -#}
with

profiles as (
    select * from {{ ref('int_users__profiles') }}
),

final as (
    select
        cast(profiles.group_email as text) as "email",
        cast(profiles.full_name as text) as "name",
        cast(profiles.image as text) as "image",
        cast(profiles.phone as text) as "phone",
        cast(profiles.email_verification_time as bigint) as "emailVerificationTime",
        cast(profiles.deleted_at as bigint) as "deletedAt",
        cast(profiles.secondary_email as text) as resolve_secondary_email,
        cast(profiles.v1_rows_json as text) as resolve_v1_rows
    from profiles
)

select * from final
