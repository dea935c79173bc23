{#- Staging of public.case_rfi / public.case_rfe (same columns, §1.8): rename, cast and clean only, with
    what cleaning changed (text, DQ-27; a timestamp that is not finite, DQ-16); `raw_relation` is the source table. -#}
{% macro cases_entry_staging(raw_relation) -%}
select
    lower(trim(cast(id as varchar))) as row_id,
    lower(trim(cast(case_id as varchar))) as case_id,
    {{ clean_text('title') }} as title,
    {{ clean_text('description') }} as description,
    {{ clean_text('notes') }} as notes,
    {%- for column in ['received_date', 'response_due_date', 'response_submitted_date'] %}
    {{ parse_date(column) }} as {{ column }},
    {{ stored_text(column) }} as {{ column }}_raw,
    {%- endfor %}
    {{ epoch_ms('created_at') }} as created_at_ms,
    {{ unreadable_timestamp('created_at') }} as created_at_unreadable,
    {{ dirty_text_columns('raw_rows', ['title', 'description', 'notes']) }} as dirty_text_columns
from {{ raw_relation }} as raw_rows
{%- endmacro %}
