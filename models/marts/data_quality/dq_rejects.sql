{#- One row per rejected (quarantined) source row: source table, v1 uuid, DQ id, reason, field, value, source row. -#}
with

row_outcomes as (
    select * from {{ ref('int_data_quality__row_outcomes') }}
),

final as (
    select
        source_table,
        v1_id,
        dq_id,
        message as reason,
        field,
        value,
        source_row
    from row_outcomes
    where outcome = 'rejected'
)

select * from final
