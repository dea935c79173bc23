{#- One row per v1 case: its lowercase id and the raw source columns, unchanged (a view). Readers
    build the `source_row` JSON of the rejects (row_json) after filtering to the rejected rows. -#}
select
    lower(trim(cast(raw_cases.id as varchar))) as case_id,
    raw_cases.*
from {{ source('supabase', 'cases') }} as raw_cases
