{#- One row per loaded case: notes as a JSON array (§3.8.1): structured JSON notes or one plain-text
    note, then the unattached RFI / RFE legacy notes; with what was dropped or fixed (DQ-22) and the text
    the TEXT rule changed (DQ-27). JSON null elements are dropped before the shape is decided (§3.1 JSON rule). -#}
{%- set parsed = json_parse('cases.notes_raw') -%}
{{ config(pre_hook="{{ case_pieces_start(ref('int_cases__scalars')) }}", post_hook="{{ case_pieces_insert_rest() }}") }}

with cases as (
    select
        scalars.case_id,
        scalars.created_at,
        coalesce(scalars.updated_at_v1, scalars.created_at_v1, scalars.created_at) as plain_created_at,
        stg.notes_raw,
        {{ clean_text('stg.notes_raw') }} as notes_text,
        stg.rfi_notes,
        stg.rfe_notes,
        lists.rfi_legacy_entry_kept,
        lists.rfe_legacy_entry_kept
    from {{ ref('int_cases__scalars') }} as scalars
    inner join {{ ref('stg_supabase__cases') }} as stg
        on stg.case_id = scalars.case_id
    inner join {{ ref('int_cases__rfi_rfe_lists') }} as lists
        on lists.case_id = scalars.case_id
    where {{ in_case_piece('scalars.case_id') }}
),

parsed as (
    select
        cases.*,
        {{ parsed }} as parsed_notes,
        coalesce({{ json_kind(parsed) }} = 'array', false) as is_array
    from cases
),

array_items as (
    select
        items.case_id,
        items.created_at,
        items.item_index + 1 as item_position,
        items.item,
        coalesce({{ json_kind('items.item') }}, 'null') as item_kind
    from {{ json_array_rows('parsed', ['case_id', 'created_at'], 'parsed.parsed_notes', 'items') }}
),

non_object_counts as (
    select case_id, count(*) as non_object_count
    from array_items
    where item_kind not in ('object', 'null')
    group by case_id
),

shapes as (
    select
        parsed.*,
        parsed.is_array and non_object_counts.case_id is null as is_structured
    from parsed
    left join non_object_counts
        on non_object_counts.case_id = parsed.case_id
),

structured_items as (
    select
        array_items.case_id,
        array_items.item_position,
        {{ clean_text(json_member_text('array_items.item', 'content')) }} as content,
        {{ json_kind(json_member('array_items.item', 'content')) }} = 'string' as content_is_string,
        coalesce({{ is_text_cleaned(json_member_text('array_items.item', 'content')) }}, false) as content_cleaned,
        case when {{ json_kind(json_member('array_items.item', 'id')) }} = 'string'
            then nullif({{ json_member_text('array_items.item', 'id') }}, '') end as given_id,
        coalesce(
            {{ json_member('array_items.item', 'created_at') }},
            {{ json_member('array_items.item', 'createdAt') }}) as created_json,
        {{ json_member_text('array_items.item', 'status') }} as status_raw,
        {{ json_member_text('array_items.item', 'priority') }} as priority_raw,
        {{ json_member_text('array_items.item', 'category') }} as category_raw,
        {{ json_member_text('array_items.item', 'dueDate') }} as due_date_raw,
        {{ parse_date(json_member_text('array_items.item', 'dueDate')) }} as due_date,
        array_items.created_at as case_created_at
    from array_items
    inner join shapes
        on shapes.case_id = array_items.case_id and shapes.is_structured
    where array_items.item_kind <> 'null'
),

timed_items as (
    select
        structured_items.*,
        {{ json_time_to_ms('created_json') }} as created_ms,
        case when priority_raw in ('high', 'medium', 'low') then priority_raw end as priority,
        case when category_raw in ('follow-up', 'document', 'client', 'internal', 'deadline', 'other') then category_raw end
            as category
    from structured_items
),

structured_notes as (
    select
        case_id,
        item_position as note_order,
        '{"id":' || {{ json_string("coalesce(given_id, 'v1-note-' || case_id || '-' || cast(item_position as varchar))") }}
        || ',"content":' || {{ json_string('content') }}
        || ',"createdAt":' || cast(coalesce(created_ms, case_created_at) as varchar)
        || ',"status":' || {{ json_string("case when status_raw in ('pending', 'done', 'deleted') then status_raw else 'pending' end") }}
        || coalesce(',"priority":' || {{ json_string('priority') }}, '')
        || coalesce(',"category":' || {{ json_string('category') }}, '')
        || coalesce(',"dueDate":' || {{ json_string('due_date') }}, '')
        || '}' as note_json
    from timed_items
    where content_is_string and content is not null
),

{#- Fixes inside kept notes (DQ-22): members omitted for invalid values, createdAt fallen back. #}
item_fixes as (
    select
        case_id,
        item_position,
        concat_ws(', ',
            case when priority_raw is not null and priority is null then 'priority "' || priority_raw || '" omitted' end,
            case when category_raw is not null and category is null then 'category "' || category_raw || '" omitted' end,
            case when due_date_raw is not null and due_date is null then 'dueDate "' || due_date_raw || '" omitted' end,
            case when coalesce({{ json_kind('created_json') }}, 'null') <> 'null' and created_ms is null
                then 'createdAt ' || coalesce({{ json_string(json_scalar_text('created_json')) }}, {{ json_kind('created_json') }})
                    || ' is not a timestamp (case createdAt used)' end) as fixes
    from timed_items
    where content_is_string and content is not null
),

plain_notes as (
    select
        shapes.case_id,
        0 as note_order,
        '{"id":' || {{ json_string("'v1-note-' || shapes.case_id") }}
        || ',"content":' || {{ json_string('shapes.notes_text') }}
        || ',"createdAt":' || cast(shapes.plain_created_at as varchar)
        || ',"status":"pending"}' as note_json
    from shapes
    where shapes.notes_text is not null and not shapes.is_structured
),

{%- for kind in ['rfi', 'rfe'] %}
{{ kind }}_notes as (
    select
        cases.case_id,
        {{ loop.index }} + 1000000 as note_order,
        '{"id":' || {{ json_string("'v1-note-' || cases.case_id || '-" ~ kind ~ "'") }}
        || ',"content":' || {{ json_string("'" ~ kind | upper ~ " notes: ' || cases." ~ kind ~ "_notes") }}
        || ',"createdAt":' || cast(cases.plain_created_at as varchar)
        || ',"status":"pending"}' as note_json
    from cases
    where cases.{{ kind }}_notes is not null and not cases.{{ kind }}_legacy_entry_kept
),
{%- endfor %}

all_notes as (
    select * from structured_notes
    union all select * from plain_notes
    union all select * from rfi_notes
    union all select * from rfe_notes
),

dropped_counts as (
    select case_id, count(*) as dropped_note_count
    from structured_items
    where not (content_is_string and content is not null)
    group by case_id
),

null_counts as (
    select array_items.case_id, count(*) as null_note_count
    from array_items
    inner join shapes
        on shapes.case_id = array_items.case_id and shapes.is_structured
    where array_items.item_kind = 'null'
    group by array_items.case_id
),

{#- Text the TEXT rule changed (DQ-27): the content of kept structured notes, or the plain-text column. #}
cleaned_per_case as (
    select case_id,
        {{ ordered_string_agg("'notes item ' || cast(item_position as varchar) || ' content'", "' | '", ['item_position']) }}
            as cleaned_text_items
    from structured_items
    where content_is_string and content is not null and content_cleaned
    group by case_id
    union all
    select case_id, 'notes'
    from shapes
    where shapes.notes_text is not null and not shapes.is_structured and shapes.notes_raw <> shapes.notes_text
),

fixes_per_case as (
    select case_id,
        {{ ordered_string_agg("'note ' || cast(item_position as varchar) || ': ' || fixes", "' | '", ['item_position']) }}
            as note_fixes
    from item_fixes
    where fixes <> ''
    group by case_id
),

per_case as (
    select case_id, '[' || {{ ordered_string_agg('note_json', "','", ['note_order']) }} || ']' as notes_json
    from all_notes
    group by case_id
)

select
    cases.case_id,
    coalesce(per_case.notes_json, '[]') as notes_json,
    cases.notes_raw,
    cases.rfi_notes is not null and not cases.rfi_legacy_entry_kept as rfi_notes_unattached,
    cases.rfe_notes is not null and not cases.rfe_legacy_entry_kept as rfe_notes_unattached,
    coalesce(dropped_counts.dropped_note_count, 0) as dropped_note_count,
    coalesce(null_counts.null_note_count, 0) as null_note_count,
    fixes_per_case.note_fixes,
    cleaned_per_case.cleaned_text_items
from cases
left join per_case
    on per_case.case_id = cases.case_id
left join dropped_counts
    on dropped_counts.case_id = cases.case_id
left join null_counts
    on null_counts.case_id = cases.case_id
left join fixes_per_case
    on fixes_per_case.case_id = cases.case_id
left join cleaned_per_case
    on cleaned_per_case.case_id = cases.case_id
