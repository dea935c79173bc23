{#- One row per loaded case: calendarEventIds as a JSON object (§3.8.4), NULL (omitted) unless
    carry_calendar_event_ids; keeps the seed's keys, `eta9089_filing` renamed and losing to
    `eta9089_filing_window`; values that are not non-empty strings are dropped. -#}
with cases as (
    select scalars.case_id, {{ json_parse('stg.calendar_event_ids_raw') }} as event_ids
    from {{ ref('int_cases__scalars') }} as scalars
    inner join {{ ref('stg_supabase__cases') }} as stg
        on stg.case_id = scalars.case_id
    where {{ var('carry_calendar_event_ids') }}
),

pairs as (
    select
        cases.case_id,
        keys.v2_key,
        keys.key_precedence,
        {{ json_member_text_dynamic('cases.event_ids', 'keys.v1_key') }} as event_id
    from cases
    cross join {{ ref('cases_calendar_deadline_keys') }} as keys
    where {{ json_kind('cases.event_ids') }} = 'object'
),

winners as (
    select case_id, v2_key, event_id,
        row_number() over (partition by case_id, v2_key order by key_precedence) as key_rank
    from pairs
    where event_id is not null and event_id <> ''
)

select
    case_id,
    '{' || {{ ordered_string_agg(json_string('v2_key') ~ " || ':' || " ~ json_string('event_id'), "','", ['v2_key']) }} || '}'
        as calendar_event_ids_json
from winners
where key_rank = 1
group by case_id
