{#- One row per v1 case: the raw source row as JSON text (for the rejects output). A view: readers
    filter it to the few rejected rows, so the JSON is only built for those. -#}
select
    lower(trim(cast(id as varchar))) as case_id,
    {{ cases_row_json(source('supabase', 'cases'), 'source_row') }} as source_row
from {{ source('supabase', 'cases') }} as source_row
