{#- One row per v1 public.case_rfi row: its lowercase id and the raw source columns, unchanged (a view).
    int_cases__rfi_outcomes builds the `source_row` JSON of the rejects after filtering to the rejected rows. -#}
select
    lower(trim(cast(raw_rows.id as varchar))) as row_id,
    raw_rows.*
from {{ source('supabase', 'case_rfi') }} as raw_rows
