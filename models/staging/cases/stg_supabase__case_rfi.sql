{#- One row per v1 public.case_rfi row. Rename, cast and clean only. -#}
select
    lower(trim(cast(id as varchar))) as row_id,
    lower(trim(cast(case_id as varchar))) as case_id,
    {{ clean_text('title') }} as title,
    {{ clean_text('description') }} as description,
    {{ clean_text('notes') }} as notes,
    {%- for column in ['received_date', 'response_due_date', 'response_submitted_date'] %}
    {{ parse_date(column) }} as {{ column }},
    nullif(cast({{ column }} as varchar), '') as {{ column }}_raw,
    {%- endfor %}
    {{ epoch_ms('created_at') }} as created_at_ms
from {{ source('supabase', 'case_rfi') }}
