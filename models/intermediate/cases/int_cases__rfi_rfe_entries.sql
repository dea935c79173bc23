{#- One row per RFI/RFE candidate (§3.6) with its fate: `kept` (becomes an entry), `duplicate`
    (dedupe: a higher-precedence entry has the same key, or the same receivedDate and this one has no
    title), `no_dates` (neither received nor due date: dropped, DQ-19a), `null_item` (a JSON null list item,
    dropped: DQ-22 info) or `not_object` (another non-object list item: DQ-22 warning). -#}
with candidates as (
    select
        candidates.*,
        case
            when candidates.item_is_null then 'null_item'
            when not candidates.item_is_object then 'not_object'
            when candidates.received_date is null and candidates.response_due_date is null then 'no_dates'
        end as drop_reason,
        row_number() over (
            partition by candidates.case_id, candidates.kind
            order by candidates.source_rank, candidates.sort_created_at nulls last,
                candidates.source_row_id, candidates.list_position
        ) as precedence
    from {{ ref('int_cases__rfi_rfe_candidates') }} as candidates
),

usable as (
    select
        usable.*,
        coalesce(usable.received_date, '') as received_key,
        coalesce(lower(usable.title), '') as title_key
    from candidates as usable
    where usable.drop_reason is null
),

ranked as (
    select
        usable.*,
        row_number() over (
            partition by usable.case_id, usable.kind, usable.received_key, usable.title_key
            order by usable.precedence
        ) as key_rank,
        min(usable.source_rank) over (
            partition by usable.case_id, usable.kind, usable.received_key
        ) as best_source_for_date
    from usable
),

decided as (
    select
        ranked.*,
        case
            when ranked.key_rank > 1 then 'duplicate'
            when ranked.title is null and ranked.best_source_for_date < ranked.source_rank then 'duplicate'
            else 'kept'
        end as fate
    from ranked
)

select
    candidates.kind,
    candidates.case_id,
    candidates.source_rank,
    candidates.source_row_id,
    candidates.list_position,
    candidates.entry_id,
    coalesce(candidates.drop_reason, decided.fate) as fate,
    candidates.title,
    candidates.description,
    candidates.notes,
    candidates.received_date_raw,
    candidates.response_due_date_raw,
    candidates.response_submitted_date_raw,
    candidates.response_due_date as response_due_date_v1,
    coalesce(candidates.received_date, '') as received_date,
    case
        when candidates.kind = 'rfi' and candidates.received_date is not null
            then {{ add_days('candidates.received_date', 30) }}
        else coalesce(candidates.response_due_date, '')
    end as response_due_date,
    candidates.response_submitted_date,
    candidates.created_at,
    candidates.cleaned_members,
    candidates.kind = 'rfi' and candidates.received_date is not null and candidates.response_due_date is not null
        and candidates.response_due_date <> {{ add_days('candidates.received_date', 30) }} as due_date_recomputed,
    candidates.received_date is null
        or (candidates.kind = 'rfe' and candidates.response_due_date is null) as missing_date,
    candidates.received_date is not null and candidates.response_submitted_date is null as is_active
from candidates
left join decided
    on decided.case_id = candidates.case_id
    and decided.kind = candidates.kind
    and decided.entry_id = candidates.entry_id
