{#- §3.2 step 5 (DQ-01): group retained identities by identity email, pick the winner, merge or quarantine the losers. -#}
with

identities as (
    select * from {{ ref('int_users__identities') }}
),

ranked as (
    select
        identities.*,
        count(*) over (partition by identities.identity_email) as group_size,
        row_number() over (
            partition by identities.identity_email
            order by
                case when identities.app_user_id is not null then 0 else 1 end,
                case when identities.auth_user_id is not null then 0 else 1 end,
                {{ comparable_timestamp('identities.app_updated_at') }} desc nulls last,
                {{ comparable_timestamp('identities.auth_updated_at') }} desc nulls last,
                {{ comparable_timestamp('identities.app_created_at') }} desc nulls last,
                {{ comparable_timestamp('identities.auth_created_at') }} desc nulls last,
                {{ text_sort_key('identities.app_user_id') }} asc nulls last,
                {{ text_sort_key('identities.auth_user_id') }} asc nulls last
        ) as group_rank
    from identities
    where identities.exclusion_reason is null
      and identities.identity_email is not null
),

winners as (
    select ranked.identity_email, ranked.identity_id as winner_identity_id
    from ranked
    where ranked.group_rank = 1
),

outcomes as (
    select
        identities.*,
        ranked.group_size,
        ranked.group_rank,
        winners.winner_identity_id,
        case
            when identities.exclusion_reason is not null then 'excluded'
            when identities.identity_email is null then 'rejected'
            when ranked.group_rank > 1 and not {{ bool_var('merge_duplicate_emails') }} then 'rejected'
            else 'loaded'
        end as identity_outcome,
        case
            when identities.exclusion_reason is not null then identities.exclusion_reason
            when identities.identity_email is null then 'DQ-09'
            when ranked.group_rank > 1 and not {{ bool_var('merge_duplicate_emails') }} then 'DQ-01'
        end as identity_reason,
        coalesce(ranked.group_rank = 1, false) as is_winner,
        coalesce(ranked.group_rank > 1 and {{ bool_var('merge_duplicate_emails') }}, false) as is_merged_loser
    from identities
    left join ranked on ranked.identity_id = identities.identity_id
    left join winners on winners.identity_email = ranked.identity_email
),

final as (
    select
        outcomes.*,
        case when outcomes.identity_outcome = 'loaded' then outcomes.identity_email end as group_email
    from outcomes
)

select * from final
