{#- One row per RFI/RFE candidate entry of a loaded case, from the three sources of §3.6 in
    precedence order: 1 = case_rfi/case_rfe rows, 2 = rfi_list/rfe_list items, 3 = legacy columns.
    Null or non-object list items are kept with item_is_object = false (dropped later, DQ-22); list items
    name the members the TEXT rule changed in cleaned_members (DQ-27; table rows: their staging). -#}

with cases as (
    select
        stg.*,
        scalars.created_at as case_created_at
    from {{ ref('stg_supabase__cases') }} as stg
    inner join {{ ref('int_cases__scalars') }} as scalars
        on scalars.case_id = stg.case_id
)

{%- for kind in ['rfi', 'rfe'] %}
{{ 'select * from (' if loop.first else 'union all' }}
select
    '{{ kind }}' as kind,
    rows.case_id,
    1 as source_rank,
    rows.row_id as source_row_id,
    cast(null as integer) as list_position,
    'v1-{{ kind }}-' || rows.row_id as entry_id,
    true as item_is_object,
    false as item_is_null,
    rows.title,
    rows.description,
    rows.notes,
    rows.received_date,
    rows.received_date_raw,
    rows.response_due_date,
    rows.response_due_date_raw,
    rows.response_submitted_date,
    rows.response_submitted_date_raw,
    coalesce(rows.created_at_ms, cases.case_created_at) as created_at,
    rows.created_at_ms as sort_created_at,
    cast(null as varchar) as cleaned_members
from {{ ref('stg_supabase__case_' ~ kind) }} as rows
inner join cases
    on cases.case_id = rows.case_id

union all

select
    '{{ kind }}' as kind,
    items.case_id,
    2 as source_rank,
    cast(null as varchar) as source_row_id,
    items.item_index + 1 as list_position,
    'v1-{{ kind }}-' || items.case_id || '-' || cast(items.item_index + 1 as varchar) as entry_id,
    coalesce({{ json_kind('items.item') }} = 'object', false) as item_is_object,
    coalesce({{ json_kind('items.item') }}, 'null') = 'null' as item_is_null,
    {{ clean_text(json_member_text('items.item', 'title')) }} as title,
    {{ clean_text(json_member_text('items.item', 'description')) }} as description,
    {{ clean_text(json_member_text('items.item', 'notes')) }} as notes,
    {%- for field in ['received_date', 'response_due_date', 'response_submitted_date'] %}
    {{ parse_date(json_member_text('items.item', field)) }} as {{ field }},
    {{ json_member_text('items.item', field) }} as {{ field }}_raw,
    {%- endfor %}
    items.case_created_at as created_at,
    cast(null as bigint) as sort_created_at,
    nullif(concat_ws(','
    {%- for member in ['title', 'description', 'notes'] %},
        case when {{ is_text_cleaned(json_member_text('items.item', member)) }} then '{{ member }}' end
    {%- endfor %}), '') as cleaned_members
from {{ json_array_rows('cases', ['case_id', 'case_created_at'], json_parse('cases.' ~ kind ~ '_list_raw'), 'items') }}

union all

select
    '{{ kind }}' as kind,
    cases.case_id,
    3 as source_rank,
    cast(null as varchar) as source_row_id,
    0 as list_position,
    'v1-{{ kind }}-' || cases.case_id || '-0' as entry_id,
    true as item_is_object,
    false as item_is_null,
    cast(null as varchar) as title,
    cast(null as varchar) as description,
    cases.{{ kind }}_notes as notes,
    cases.{{ kind }}_received_date as received_date,
    cases.{{ kind }}_received_date_raw as received_date_raw,
    cases.{{ kind }}_response_due_date as response_due_date,
    cases.{{ kind }}_response_due_date_raw as response_due_date_raw,
    cases.{{ kind }}_response_submitted_date as response_submitted_date,
    cases.{{ kind }}_response_submitted_date_raw as response_submitted_date_raw,
    cases.case_created_at as created_at,
    cast(null as bigint) as sort_created_at,
    cast(null as varchar) as cleaned_members
from cases
where cases.{{ kind }}_received_date_raw is not null
    or cases.{{ kind }}_response_due_date_raw is not null
    or cases.{{ kind }}_response_submitted_date_raw is not null
{%- endfor %}
) as candidates
