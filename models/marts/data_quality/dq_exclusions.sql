{#- One row per source row excluded by policy, with its reason (soft_deleted, banned, anonymous, owner_excluded, merged, superseded). -#}
with

row_outcomes as (
    select * from {{ ref('int_data_quality__row_outcomes') }}
),

final as (
    select
        source_table,
        v1_id,
        reason
    from row_outcomes
    where outcome = 'excluded'
)

select * from final
