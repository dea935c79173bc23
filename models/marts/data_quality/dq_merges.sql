{#- One row per losing identity of a duplicate-email group (DQ-01 merge list, §3.2 step 5): winner and loser
    ids with their last sign-in, and whether the loser was merged or rejected (merge_duplicate_emails).
    The sign-in column is text when the source held odd values (infinity, BC): those are NULL here, the
    others cast back to a timestamp, so the contract holds either way. -#}
with

identity_groups as (
    select * from {{ ref('int_users__identity_groups') }}
),

losers as (
    select * from identity_groups
    where group_rank > 1
),

winners as (
    select * from identity_groups
    where is_winner
),

final as (
    select
        losers.identity_email as email,
        case when losers.is_merged_loser then 'merged' else 'rejected' end as action,
        winners.identity_id as winner_identity_id,
        winners.app_user_id as winner_app_user_id,
        winners.auth_user_id as winner_auth_user_id,
        cast({{ comparable_timestamp('winners.auth_last_sign_in_at') }} as timestamp) as winner_last_sign_in_at,
        losers.identity_id as loser_identity_id,
        losers.app_user_id as loser_app_user_id,
        losers.auth_user_id as loser_auth_user_id,
        cast({{ comparable_timestamp('losers.auth_last_sign_in_at') }} as timestamp) as loser_last_sign_in_at
    from losers
    inner join winners on winners.identity_id = losers.winner_identity_id
)

select * from final
