{#- One row per extracted source row of every reconciled table (§4.1): int_data_quality__row_outcomes. -#}
select * from {{ ref('int_data_quality__row_outcomes') }}
