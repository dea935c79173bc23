{#- One row per DQ-08 finding: a loaded user whose Google account email differs from the migrated email,
    to be notified before cut-over (§4.5 separate list). -#}
with

warnings as (
    select * from {{ ref('int_data_quality__findings') }}
),

final as (
    select
        owner_email as email,
        original_value as google_email,
        source_table,
        v1_id,
        message
    from warnings
    where dq_id = 'DQ-08'
)

select * from final
