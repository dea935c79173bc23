{#- One row per v1 case: its owner resolution (§5.2) and whether it loads (§3.4): soft-deleted
    (DQ-04) and owner-excluded (DQ-03) cases are excluded, orphans (DQ-06), cases of rejected
    identities (DQ-01/DQ-09) and cases with a JSON column too large for v2 (DQ-27) are rejected. -#}
select
    cases.case_id,
    cases.user_ref,
    refs.resolution_rule,
    refs.group_email as owner_email,
    case
        when cases.is_soft_deleted and not {{ var('include_soft_deleted_cases') }} then 'excluded'
        when refs.user_ref is null then 'rejected'
        when refs.identity_outcome = 'rejected' then 'rejected'
        when refs.identity_outcome = 'excluded' then 'excluded'
        when refs.group_email is null then 'rejected'
        when oversized.case_id is not null then 'rejected'
        else 'loaded'
    end as outcome,
    case
        when cases.is_soft_deleted and not {{ var('include_soft_deleted_cases') }} then 'soft_deleted'
        when refs.user_ref is null then null
        when refs.identity_outcome = 'rejected' then null
        when refs.identity_outcome = 'excluded' then 'owner_excluded'
    end as reason,
    case
        when cases.is_soft_deleted and not {{ var('include_soft_deleted_cases') }} then null
        when refs.user_ref is null then 'DQ-06'
        when refs.identity_outcome = 'rejected' then refs.identity_reason
        when refs.identity_outcome = 'excluded' then null
        when refs.group_email is null then 'DQ-06'
        when oversized.case_id is not null then 'DQ-27'
    end as dq_id,
    case
        when cases.is_soft_deleted and not {{ var('include_soft_deleted_cases') }} then null
        when refs.user_ref is null then 'user_id'
        when refs.identity_outcome = 'rejected' then 'user_id'
        when refs.identity_outcome = 'excluded' then null
        when refs.group_email is null then 'user_id'
        when oversized.case_id is not null then oversized.field
    end as field,
    case
        when cases.is_soft_deleted and not {{ var('include_soft_deleted_cases') }}
            then 'case is soft-deleted (deleted_at set)'
        when refs.user_ref is null then 'user_id matches no v1 user'
        when refs.identity_outcome = 'rejected' then 'owner identity is rejected (' || coalesce(refs.identity_reason, '?') || ')'
        when refs.identity_outcome = 'excluded' then 'owner identity is excluded (' || coalesce(refs.identity_reason, '?') || ')'
        when refs.group_email is null then 'owner identity has no user group'
        when oversized.case_id is not null then oversized.problems || '; quarantined'
    end as message
from {{ ref('stg_supabase__cases') }} as cases
left join {{ ref('int_users__references') }} as refs
    on refs.user_ref = cases.user_ref
left join {{ ref('int_cases__oversized') }} as oversized
    on oversized.case_id = cases.case_id
