{#- Outcome of every public.case_<kind> source row (kind = rfi | rfe; §4.1, §3.6): loaded (kept
    entry), excluded merged (duplicate entry) or owner_excluded (case excluded), rejected DQ-19a
    (no dates), DQ-06 (case_id matches no case) or the case's own DQ id (case rejected). The relations are
    passed in: `entry_rows` (stg_supabase__case_<kind>), `entry_source_rows` (stg_supabase__case_<kind>_source_rows),
    `ownership` (int_cases__ownership), `entries` (int_cases__rfi_rfe_entries). -#}
{% macro cases_entry_row_outcomes(kind, entry_rows, entry_source_rows, ownership, entries) -%}
with decided as (
    select
        'public.case_{{ kind }}' as source_table,
        rows.row_id as v1_id,
        case
            when cases.outcome = 'excluded' then 'excluded'
            when cases.case_id is null or cases.outcome = 'rejected' then 'rejected'
            when entries.fate = 'kept' then 'loaded'
            when entries.fate = 'duplicate' then 'excluded'
            else 'rejected'
        end as outcome,
        case
            when cases.outcome = 'excluded' then 'owner_excluded'
            when cases.case_id is null or cases.outcome = 'rejected' then null
            when entries.fate = 'duplicate' then 'merged'
        end as reason,
        case
            when cases.outcome = 'excluded' then null
            when cases.case_id is null then 'DQ-06'
            when cases.outcome = 'rejected' then cases.dq_id
            when entries.fate = 'no_dates' then 'DQ-19a'
        end as dq_id,
        case
            when cases.case_id is null then 'case_id'
            when entries.fate = 'no_dates' then 'received_date'
        end as field,
        case when cases.case_id is null then rows.case_id end as value,
        case
            when cases.outcome = 'excluded' then 'public.case_{{ kind }} ' || rows.row_id || ': case ' || rows.case_id || ' is excluded (' || cases.reason || ')'
            when cases.case_id is null then 'public.case_{{ kind }} ' || rows.row_id || ': case_id ' || coalesce(rows.case_id, 'NULL') || ' matches no case'
            when cases.outcome = 'rejected' then 'public.case_{{ kind }} ' || rows.row_id || ': case ' || rows.case_id || ' is rejected (' || cases.dq_id || ')'
            when entries.fate = 'duplicate' then 'public.case_{{ kind }} ' || rows.row_id || ': duplicate entry merged into a higher-precedence entry'
            when entries.fate = 'no_dates' then 'public.case_{{ kind }} ' || rows.row_id || ': received_date and response_due_date are both missing'
        end as message
    from {{ entry_rows }} as rows
    left join {{ ownership }} as cases
        on cases.case_id = rows.case_id
    left join {{ entries }} as entries
        on entries.kind = '{{ kind }}' and entries.source_row_id = rows.row_id and entries.source_rank = 1
),

{#- The source-row JSON only for rejected rows: projected after the join to them. #}
rejected_rows as (
    select
        raw_rows.row_id,
        {{ row_json('raw_rows', raw_columns('case_' ~ kind)) }} as source_row
    from decided
    inner join {{ entry_source_rows }} as raw_rows
        on raw_rows.row_id = decided.v1_id
    where decided.outcome = 'rejected'
)

select decided.*, rejected_rows.source_row
from decided
left join rejected_rows
    on rejected_rows.row_id = decided.v1_id
{%- endmacro %}
