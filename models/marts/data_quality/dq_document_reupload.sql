{#- One row per v1 document item of a loaded case that is not carried into v2 (§3.8.3): the
    re-upload manifest. -#}
select
    case_id as case_legacy_id,
    owner_email,
    source_column,
    item_position,
    document_id,
    document_name,
    document_url,
    is_supabase_storage_url,
    item_text as raw_item
from {{ ref('int_cases__document_items') }}
where not is_carried and not is_null_item
