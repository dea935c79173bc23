{#- One row per loaded case: rfiEntries / rfeEntries as JSON arrays (§3.6 order: receivedDate, source
    precedence, id), active-entry counts, the validation entry of each list (§4.4) and whether the
    legacy rfi_notes / rfe_notes are attached to a kept legacy entry (§3.8.1). -#}
with kept as (
    select
        entries.*,
        row_number() over (
            partition by entries.case_id, entries.kind
            order by entries.received_date, entries.source_rank, entries.entry_id
        ) as entry_order,
        count(*) over (partition by entries.case_id, entries.kind) as entry_count
    from {{ ref('int_cases__rfi_rfe_entries') }} as entries
    where entries.fate = 'kept'
),

validation_pick as (
    select
        kept.*,
        min(case when kept.response_submitted_date is null then kept.entry_order end)
            over (partition by kept.case_id, kept.kind) as first_open_order
    from kept
),

json_items as (
    select
        kept.*,
        '{"id":' || {{ json_string('kept.entry_id') }}
        || coalesce(',"title":' || {{ json_string('kept.title') }}, '')
        || coalesce(',"description":' || {{ json_string('kept.description') }}, '')
        || coalesce(',"notes":' || {{ json_string('kept.notes') }}, '')
        || ',"receivedDate":' || {{ json_string('kept.received_date') }}
        || ',"responseDueDate":' || {{ json_string('kept.response_due_date') }}
        || coalesce(',"responseSubmittedDate":' || {{ json_string('kept.response_submitted_date') }}, '')
        || ',"createdAt":' || cast(kept.created_at as varchar)
        || '}' as entry_json
    from kept
),

per_case as (
    select
        case_id,
        {%- for kind in ['rfi', 'rfe'] %}
        '[' || coalesce({{ ordered_string_agg("case when kind = '" ~ kind ~ "' then entry_json end", "','", ['entry_order']) }}, '') || ']'
            as {{ kind }}_entries_json,
        count(case when kind = '{{ kind }}' then 1 end) as {{ kind }}_entry_count,
        count(case when kind = '{{ kind }}' and is_active then 1 end) as {{ kind }}_active_count,
        max(case when kind = '{{ kind }}' and source_rank = 3 then 1 else 0 end) = 1 as {{ kind }}_legacy_entry_kept{{ ',' if not loop.last }}
        {%- endfor %}
    from json_items
    group by case_id
),

validation as (
    select
        case_id,
        {%- for kind in ['rfi', 'rfe'] %}
        max(case when kind = '{{ kind }}' then received_date end) as {{ kind }}_validation_received_date,
        max(case when kind = '{{ kind }}' then response_due_date end) as {{ kind }}_validation_due_date,
        max(case when kind = '{{ kind }}' then response_submitted_date end) as {{ kind }}_validation_submitted_date{{ ',' if not loop.last }}
        {%- endfor %}
    from validation_pick
    where entry_order = coalesce(first_open_order, entry_count)
    group by case_id
)

select
    {%- for kind in ['rfi', 'rfe'] %}
    coalesce(per_case.{{ kind }}_entries_json, '[]') as {{ kind }}_entries_json,
    coalesce(per_case.{{ kind }}_entry_count, 0) as {{ kind }}_entry_count,
    coalesce(per_case.{{ kind }}_active_count, 0) as {{ kind }}_active_count,
    coalesce(per_case.{{ kind }}_legacy_entry_kept, false) as {{ kind }}_legacy_entry_kept,
    validation.{{ kind }}_validation_received_date,
    validation.{{ kind }}_validation_due_date,
    validation.{{ kind }}_validation_submitted_date,
    {%- endfor %}
    scalars.case_id
from {{ ref('int_cases__scalars') }} as scalars
left join per_case
    on per_case.case_id = scalars.case_id
left join validation
    on validation.case_id = scalars.case_id
