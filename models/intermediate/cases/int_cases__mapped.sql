{#- One row per loaded case: the fully mapped case (§3.4 steps 1-5): scalars, fills, collections,
    derived dates (§3.9.3), calculateAutoStatus (§3.9.7), the status decision (§3.5) and deadline
    activity (§3.9.8). Columns keep snake case; the mart renames them to v2 fields. -#}
{%- set norm = "regexp_replace(lower(trim(RAW)), '[[:space:]_/-]+', ' ', 'g')" -%}

with joined as (
    select
        scalars.*,
        lists.rfi_entries_json,
        lists.rfe_entries_json,
        lists.rfi_active_count,
        lists.rfe_active_count,
        lists.rfi_validation_received_date,
        lists.rfi_validation_due_date,
        lists.rfi_validation_submitted_date,
        lists.rfe_validation_received_date,
        lists.rfe_validation_due_date,
        lists.rfe_validation_submitted_date,
        methods.methods_json,
        methods.complete_method_count,
        methods.latest_method_date,
        notes.notes_json,
        tags.tags_json,
        documents.documents_json,
        calendar.calendar_event_ids_json,
        {{ norm | replace('RAW', 'scalars.case_status') }} as case_status_norm,
        {{ norm | replace('RAW', 'scalars.progress_status') }} as progress_status_norm
    from {{ ref('int_cases__scalars') }} as scalars
    inner join {{ ref('int_cases__rfi_rfe_lists') }} as lists on lists.case_id = scalars.case_id
    inner join {{ ref('int_cases__recruitment_methods') }} as methods on methods.case_id = scalars.case_id
    inner join {{ ref('int_cases__notes') }} as notes on notes.case_id = scalars.case_id
    inner join {{ ref('int_cases__tags') }} as tags on tags.case_id = scalars.case_id
    left join (
        select case_id,
            '[' || {{ ordered_string_agg(
                "'{\"id\":' || " ~ json_string('document_id') ~ " || ',\"name\":' || " ~ json_string('document_name')
                ~ " || ',\"url\":' || " ~ json_string('document_url') ~ " || ',\"mimeType\":' || " ~ json_string('mime_type')
                ~ " || ',\"size\":' || " ~ json_number('size_bytes') ~ " || ',\"uploadedAt\":' || cast(uploaded_at_ms as varchar) || '}'",
                "','", ['item_position']) }} || ']' as documents_json
        from {{ ref('int_cases__document_items') }}
        where is_carried
        group by case_id
    ) as documents on documents.case_id = scalars.case_id
    left join {{ ref('int_cases__calendar_event_ids') }} as calendar on calendar.case_id = scalars.case_id
),

derived as (
    select
        joined.*,
        {{ least_date(['sunday_ad_first_date', 'job_order_start_date', 'notice_of_filing_start_date']) }}
            as recruitment_start_date,
        {{ greatest_date(['sunday_ad_second_date', 'job_order_end_date', 'notice_of_filing_end_date',
            'case when is_professional_occupation then additional_recruitment_end_date end',
            'case when is_professional_occupation then latest_method_date end']) }} as recruitment_end_date
    from joined
),

windows as (
    select
        derived.*,
        case when recruitment_end_date is not null then {{ add_days('recruitment_end_date', 30) }} end
            as filing_window_opens,
        case when recruitment_start_date is not null then
            {{ least_date([add_days('recruitment_start_date', 180), 'pwd_expiration_date']) }} end
            as filing_window_closes,
        case when recruitment_start_date is not null then
            {{ least_date([add_days('recruitment_start_date', 150),
                'case when pwd_expiration_date is not null then ' ~ add_days('pwd_expiration_date', -30) ~ ' end']) }} end
            as recruitment_window_closes,
        job_order_start_date is not null and job_order_end_date is not null
            and sunday_ad_first_date is not null and sunday_ad_second_date is not null
            and notice_of_filing_start_date is not null and notice_of_filing_end_date is not null
            and (not is_professional_occupation or complete_method_count >= 3 or additional_recruitment_end_date is not null)
            as recruitment_complete,
        {{ greatest_date(['job_order_end_date', 'sunday_ad_second_date', 'notice_of_filing_end_date',
            'case when is_professional_occupation then additional_recruitment_end_date end',
            'case when is_professional_occupation then latest_method_date end']) }} as recruitment_last_end
    from derived
),

auto_status as (
    select
        windows.*,
        case
            when rfe_active_count > 0 then 'i140'
            when rfi_active_count > 0 then 'eta9089'
            when i140_approval_date is not null then 'i140'
            when i140_denial_date is not null then 'closed'
            when i140_filing_date is not null then 'i140'
            when eta9089_certification_date is not null then 'i140'
            when eta9089_filing_date is not null then 'eta9089'
            when pwd_determination_date is not null and recruitment_complete
                and {{ add_days('recruitment_last_end', 30) }} <= {{ as_of_date() }} then 'eta9089'
            when pwd_determination_date is not null then 'recruitment'
            else 'pwd'
        end as auto_case_status,
        case
            when rfe_active_count > 0 or rfi_active_count > 0 then 'rfi_rfe'
            when i140_approval_date is not null or i140_denial_date is not null then 'approved'
            when i140_filing_date is not null then 'filed'
            when eta9089_certification_date is not null then 'working'
            when eta9089_filing_date is not null then 'filed'
            when pwd_determination_date is not null and recruitment_complete
                and {{ add_days('recruitment_last_end', 30) }} <= {{ as_of_date() }} then 'working'
            when pwd_determination_date is not null and recruitment_complete then 'filed'
            when pwd_determination_date is not null then 'working'
            when pwd_filing_date is not null then 'filed'
            else 'working'
        end as auto_progress_status
    from windows
),

hints as (
    select
        auto_status.*,
        status_vocab.status_norm is not null as case_status_known,
        status_vocab.stage_hint,
        status_vocab.closure_reason,
        progress_vocab.progress_norm is not null as progress_status_known,
        coalesce(progress_vocab.mapped_progress, status_vocab.progress_hint) as progress_hint_raw
    from auto_status
    left join {{ ref('cases_status_vocabulary') }} as status_vocab
        on status_vocab.status_norm = auto_status.case_status_norm
    left join {{ ref('cases_progress_vocabulary') }} as progress_vocab
        on progress_vocab.progress_norm = auto_status.progress_status_norm
),

decided as (
    select
        hints.*,
        case when hints.progress_hint_raw = 'rfi_rfe' and hints.rfi_active_count + hints.rfe_active_count = 0
            then null else hints.progress_hint_raw end as progress_hint,
        hints.progress_hint_raw = 'rfi_rfe' and hints.rfi_active_count + hints.rfe_active_count = 0
            as progress_hint_invalid
    from hints
),

status as (
    select
        decided.*,
        case
            when closure_reason is not null then 1
            when progress_status_override then 2
            when progress_hint in ('waiting_intake', 'under_review') and rfi_active_count + rfe_active_count = 0 then 3
            else 4
        end as status_rule
    from decided
)

select
    status.*,
    case status_rule
        when 1 then 'closed'
        when 2 then coalesce(stage_hint, auto_case_status)
        else auto_case_status
    end as mapped_case_status,
    case status_rule
        when 4 then auto_progress_status
        else coalesce(progress_hint, auto_progress_status)
    end as mapped_progress_status,
    case when status_rule in (1, 2, 3) then true end as mapped_progress_status_override,
    case when status_rule = 1 then closure_reason end as mapped_closure_reason,
    case when status_rule = 1 then updated_at end as closed_at,
    coalesce(rfi_active_count + rfe_active_count > 0
        or (eta9089_filing_date is null and (
            pwd_expiration_date >= {{ as_of_date() }}
            or filing_window_closes >= {{ as_of_date() }}
            or recruitment_window_closes >= {{ as_of_date() }}))
        or (i140_filing_date is null and eta9089_expiration_date >= {{ as_of_date() }}), false)
        as has_active_deadline
from status
