{#- One row per item of documents / rfi_documents / rfe_documents of a loaded case (§3.8.3), with
    whether it is carried into `documents` (only under carry_documents) or goes to the re-upload
    manifest, and whether its URL is on Supabase Storage (DQ-29). JSON null items are kept with
    is_null_item (dropped from the manifest, DQ-22); cleaned_members names the members the TEXT rule
    changed (DQ-27). -#}
with cases as (
    select scalars.case_id, scalars.owner_email, stg.documents_raw, stg.rfi_documents_raw, stg.rfe_documents_raw
    from {{ ref('int_cases__scalars') }} as scalars
    inner join {{ ref('stg_supabase__cases') }} as stg
        on stg.case_id = scalars.case_id
),

items as (
    {%- for column in ['documents', 'rfi_documents', 'rfe_documents'] %}
    {{ 'union all' if not loop.first }}
    select
        items.case_id,
        items.owner_email,
        '{{ column }}' as source_column,
        items.item_index + 1 as item_position,
        items.item,
        items.item_text
    from {{ json_array_raw_rows('cases', ['case_id', 'owner_email'], 'cases.' ~ column ~ '_raw', 'items') }}
    {%- endfor %}
),

described as (
    select
        items.*,
        {{ json_kind('items.item') }} as item_kind,
        {{ clean_text(json_member_text('items.item', 'id')) }} as document_id,
        {{ clean_text(json_member_text('items.item', 'name')) }} as document_name,
        {{ clean_text(json_member_text('items.item', 'url')) }} as document_url,
        coalesce(
            {{ clean_text(json_member_text('items.item', 'mimeType')) }},
            {{ clean_text(json_member_text('items.item', 'mime_type')) }},
            {{ clean_text(json_member_text('items.item', 'type')) }}) as mime_type,
        case when {{ json_kind(json_member('items.item', 'size')) }} = 'number'
            then cast({{ json_member_text('items.item', 'size') }} as double precision) end as size_bytes,
        coalesce({{ json_member('items.item', 'uploadedAt') }}, {{ json_member('items.item', 'uploaded_at') }}) as uploaded_json,
        nullif(concat_ws(','
        {%- for member in ['id', 'name', 'url', 'mimeType', 'mime_type', 'type'] %},
            case when {{ is_text_cleaned(json_member_text('items.item', member)) }} then '{{ member }}' end
        {%- endfor %}), '') as cleaned_members
    from items
),

timed as (
    select
        described.*,
        {{ json_time_to_ms('uploaded_json') }} as uploaded_at_ms,
        {{ is_supabase_storage_url('described.document_url') }} as is_supabase_storage_url
    from described
)

select
    timed.case_id,
    timed.owner_email,
    timed.source_column,
    timed.item_position,
    timed.item_kind,
    timed.document_id,
    timed.document_name,
    timed.document_url,
    timed.mime_type,
    timed.size_bytes,
    timed.uploaded_at_ms,
    {{ json_scalar_text('timed.uploaded_json') }} as uploaded_at_raw,
    coalesce({{ json_kind('timed.uploaded_json') }}, 'null') <> 'null' and timed.uploaded_at_ms is null as uploaded_at_invalid,
    coalesce(timed.item_kind, 'null') = 'null' as is_null_item,
    timed.item_text,
    timed.is_supabase_storage_url,
    timed.cleaned_members,
    {{ var('carry_documents') }}
        and timed.source_column = 'documents'
        and timed.document_id is not null and timed.document_name is not null and timed.document_url is not null
        and timed.mime_type is not null and timed.size_bytes is not null and timed.uploaded_at_ms is not null
        and not timed.is_supabase_storage_url as is_carried
from timed
