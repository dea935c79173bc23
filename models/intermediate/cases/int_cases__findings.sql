{#- One row per case-side data-quality finding (warnings and info notes, MAPPING_SPEC §4.3), in the
    layout of docs/INTERFACES.md §4. Quarantines are in the int_<entity>__*outcomes models instead. -#}
{%- set date_fields = [
    ('pwd_filing_date', 'pwdFilingDate'), ('pwd_determination_date', 'pwdDeterminationDate'),
    ('pwd_expiration_date', 'pwdExpirationDate'), ('job_order_start_date', 'jobOrderStartDate'),
    ('job_order_end_date', 'jobOrderEndDate'), ('sunday_ad_first_date', 'sundayAdFirstDate'),
    ('sunday_ad_second_date', 'sundayAdSecondDate'), ('notice_of_filing_start_date', 'noticeOfFilingStartDate'),
    ('notice_of_filing_end_date', 'noticeOfFilingEndDate'), ('additional_recruitment_start_date', 'additionalRecruitmentStartDate'),
    ('additional_recruitment_end_date', 'additionalRecruitmentEndDate'), ('eta9089_filing_date', 'eta9089FilingDate'),
    ('eta9089_audit_date', 'eta9089AuditDate'), ('eta9089_certification_date', 'eta9089CertificationDate'),
    ('eta9089_expiration_date', 'eta9089ExpirationDate'), ('rfi_received_date', 'rfiEntries'),
    ('rfi_response_due_date', 'rfiEntries'), ('rfi_response_submitted_date', 'rfiEntries'),
    ('rfe_received_date', 'rfeEntries'), ('rfe_response_due_date', 'rfeEntries'),
    ('rfe_response_submitted_date', 'rfeEntries'), ('i140_filing_date', 'i140FilingDate'),
    ('i140_receipt_date', 'i140ReceiptDate'), ('i140_approval_date', 'i140ApprovalDate'),
    ('i140_denial_date', 'i140DenialDate')] -%}
{%- set future_fields = [
    ('pwd_filing_date', 'pwdFilingDate'), ('pwd_determination_date', 'pwdDeterminationDate'),
    ('eta9089_filing_date', 'eta9089FilingDate'), ('eta9089_audit_date', 'eta9089AuditDate'),
    ('eta9089_certification_date', 'eta9089CertificationDate'), ('i140_filing_date', 'i140FilingDate'),
    ('i140_receipt_date', 'i140ReceiptDate'), ('i140_approval_date', 'i140ApprovalDate'),
    ('i140_denial_date', 'i140DenialDate')] -%}

with cases as (
    select * from {{ ref('int_cases__mapped') }}
),

raw_dates as (
    select stg.*, scalars.owner_email, scalars.created_at as mapped_created_at, scalars.updated_at as mapped_updated_at,
        scalars.deleted_at as mapped_deleted_at
    from {{ ref('stg_supabase__cases') }} as stg
    inner join {{ ref('int_cases__scalars') }} as scalars
        on scalars.case_id = stg.case_id
),

entries as (
    select entries.*, scalars.owner_email, scalars.eta9089_filing_date, scalars.i140_filing_date
    from {{ ref('int_cases__rfi_rfe_entries') }} as entries
    inner join {{ ref('int_cases__scalars') }} as scalars
        on scalars.case_id = entries.case_id
),

methods as (
    select items.*, scalars.owner_email
    from {{ ref('int_cases__recruitment_method_items') }} as items
    inner join {{ ref('int_cases__scalars') }} as scalars
        on scalars.case_id = items.case_id
),

{#- JSON items of loaded collections whose text members the TEXT rule changed (DQ-27). #}
cleaned_json_items as (
    select case_id, owner_email, 'additionalRecruitmentMethods' as target_field, 0 as column_order, item_position,
        'additional_recruitment_methods item ' || cast(item_position as varchar) || ' description' as item_label
    from methods where fate = 'kept' and description_cleaned
    union all
    select case_id, owner_email, kind || 'Entries', 0, list_position,
        kind || '_list item ' || cast(list_position as varchar) || ' ' || cleaned_members
    from entries where source_rank = 2 and fate = 'kept' and cleaned_members is not null
    union all
    select case_id, owner_email, 'documents',
        case source_column when 'documents' then 0 when 'rfi_documents' then 1 else 2 end, item_position,
        source_column || ' item ' || cast(item_position as varchar) || ' ' || cleaned_members
    from {{ ref('int_cases__document_items') }}
    where cleaned_members is not null
),

findings as (
    {#- DQ-12: placeholders for blank required text. #}
    {%- for column, field in [('employer_name', 'employerName'), ('position_title', 'positionTitle'), ('beneficiary_identifier', 'beneficiaryIdentifier')] %}
    {{ 'union all' if not loop.first }}
    select {{ finding("'DQ-12'", "'warning'", "'" ~ field ~ "'", 'cast(null as varchar)', "'[NEEDS ENTRY]'",
        "'" ~ field ~ " is blank; placeholder written, the user must complete it'") }}
    from cases where {{ column }}_placeholder
    {%- endfor %}

    {#- DQ-15: enumerations outside the tables. #}
    union all
    select {{ finding("'DQ-15'", "'warning'", "'jobOrderState'", 'job_order_state_raw', 'job_order_state',
        "'job_order_state is not a US state code or name; raw value kept'") }}
    from cases where job_order_state_unknown
    union all
    select {{ finding("'DQ-15'", "'warning'", "'priorityLevel'", 'priority_level_raw', 'priority_level',
        "'unknown priority_level; normal used'") }}
    from cases where priority_level_unknown
    union all
    select {{ finding("'DQ-15'", "'warning'", "'pwdWageLevel'", 'pwd_wage_level_raw', 'pwd_wage_level',
        "'unknown pwd_wage_level; raw value kept'") }}
    from cases where pwd_wage_level_unknown
    union all
    select {{ finding("'DQ-15'", "'warning'", "'i140Category'", 'i140_category_raw', 'cast(null as varchar)',
        "'unknown i140_category; omitted'") }}
    from cases where i140_category_unknown
    union all
    select {{ finding("'DQ-15'", "'warning'", "'caseStatus'", 'case_status', 'mapped_case_status',
        "'unknown case_status; status computed from dates'") }}
    from cases where case_status is not null and not case_status_known
    union all
    select {{ finding("'DQ-15'", "'warning'", "'progressStatus'", 'progress_status', 'mapped_progress_status',
        "'unknown progress_status; status computed from dates'") }}
    from cases where progress_status is not null and not progress_status_known
    union all
    select {{ finding("'DQ-15'", "'info'", "'caseStatus'",
        "coalesce(case_status, '') || ' / ' || coalesce(progress_status, '')",
        "mapped_case_status || ' / ' || mapped_progress_status",
        "'v1 stage or progress hint differs from the status computed from dates; computed status used'") }}
    from cases
    where status_rule = 4
        and ((stage_hint is not null and stage_hint <> auto_case_status)
            or (progress_hint is not null and progress_hint <> auto_progress_status))

    {#- DQ-16: dates that do not parse or are out of range. #}
    {%- for column, field in date_fields %}
    union all
    select {{ finding("'DQ-16'", "'warning'", "'" ~ field ~ "'", column ~ '_raw', 'cast(null as varchar)',
        "'" ~ column ~ " is not a valid date in 1990-2100; omitted'") }}
    from raw_dates where {{ column }}_raw is not null and {{ column }} is null
    {%- endfor %}

    {#- DQ-16: timestamps that are not finite (`infinity`, BC or 5-digit years): treated as missing. #}
    {%- for column, field, consequence in [
        ('created_at', 'createdAt', 'treated as missing, migration_as_of used (DQ-28)'),
        ('updated_at', 'updatedAt', 'treated as missing, createdAt used (DQ-28)'),
        ('deleted_at', 'deletedAt', 'the case is soft-deleted; deletedAt omitted')] %}
    union all
    select {{ finding("'DQ-16'", "'warning'", "'" ~ field ~ "'", column ~ '_unreadable', 'cast(mapped_' ~ column ~ ' as varchar)',
        "'" ~ column ~ " is not a finite timestamp; " ~ consequence ~ "'") }}
    from raw_dates where {{ column }}_unreadable is not null
    {%- endfor %}

    {#- DQ-17: notice-of-filing end filled (info) and failing v2 rules (warning). #}
    union all
    select {{ finding("'DQ-17'", "'info'", "'noticeOfFilingEndDate'", 'cast(null as varchar)', 'notice_of_filing_end_date',
        "'noticeOfFilingEndDate filled as start + 10 business days (V-REC-08)'") }}
    from cases where notice_of_filing_end_filled
    union all
    select {{ finding("'DQ-17'", "'warning'", 'target_field', 'rule_id', 'cast(null as varchar)',
        "rule_id || ': ' || message || '; v2 rejects every save of this case until fixed'") }}
    from {{ ref('int_cases__v2_validation') }}

    {#- DQ-18 / DQ-19a / DQ-19c / DQ-22 per RFI/RFE entry. #}
    union all
    select {{ finding("'DQ-18'", "'warning'", "kind || 'Entries'", 'response_due_date_v1', 'response_due_date',
        "entry_id || ': RFI due date recomputed as received + 30'") }}
    from entries where fate = 'kept' and due_date_recomputed
    union all
    select {{ finding("'DQ-19a'", "'warning'", "kind || 'Entries'",
        "coalesce(received_date_raw, '') || ' / ' || coalesce(response_due_date_raw, '')", "received_date || ' / ' || response_due_date",
        "entry_id || ': entry misses its received or due date; \"\" written'") }}
    from entries where fate = 'kept' and missing_date
    union all
    select {{ finding("'DQ-19a'", "'warning'", "kind || 'Entries'", 'entry_id', 'cast(null as varchar)',
        "entry_id || ': entry has neither received nor due date; dropped'") }}
    from entries where fate = 'no_dates' and source_rank > 1
    union all
    select {{ finding("'DQ-19c'", "'warning'", "kind || 'Entries'", 'received_date', 'cast(null as varchar)',
        "entry_id || case when kind = 'rfi' then ': RFI received on or before eta9089FilingDate'
                         else ': RFE received on or before i140FilingDate' end") }}
    from entries
    where fate = 'kept' and received_date <> ''
        and received_date <= case when kind = 'rfi' then eta9089_filing_date else i140_filing_date end
    union all
    select {{ finding("'DQ-22'", "'info'", "kind || 'Entries'", 'entry_id', 'cast(null as varchar)',
        "entry_id || ': duplicate of a higher-precedence entry; merged'") }}
    from entries where fate = 'duplicate' and source_rank > 1
    union all
    select {{ finding("'DQ-22'", "'info'", "kind || 'Entries'", 'entry_id', 'cast(null as varchar)',
        "entry_id || ': list item is null; dropped'") }}
    from entries where fate = 'null_item'
    union all
    select {{ finding("'DQ-22'", "'warning'", "kind || 'Entries'", 'entry_id', 'cast(null as varchar)',
        "entry_id || ': list item is not an object; dropped'") }}
    from entries where fate = 'not_object'

    {#- DQ-16: entry dates (table rows and list items) that do not parse. #}
    {%- for column in ['received_date', 'response_due_date', 'response_submitted_date'] %}
    union all
    select {{ finding("'DQ-16'", "'warning'", "kind || 'Entries'", column ~ '_raw', 'cast(null as varchar)',
        "entry_id || ': " ~ column ~ " is not a valid date in 1990-2100; treated as missing'") }}
    from entries
    where {{ column }}_raw is not null and source_rank < 3
        and {{ parse_date(column ~ '_raw') }} is null
    {%- endfor %}

    {#- DQ-22: JSON list columns that are not arrays. #}
    {%- for column in ['rfi_list', 'rfe_list', 'documents', 'rfi_documents', 'rfe_documents'] %}
    union all
    select {{ finding("'DQ-22'", "'warning'", "'" ~ column ~ "'", column ~ '_raw', 'cast(null as varchar)',
        "'" ~ column ~ " is not a JSON array; ignored'") }}
    from raw_dates
    where {{ column }}_raw is not null
        and ({{ json_is_invalid(column ~ '_raw') }}
            or coalesce({{ json_kind(json_parse(column ~ '_raw')) }}, 'array') <> 'array')
    {%- endfor %}

    {#- DQ-22: double-encoded JSON columns, decoded once (notes: only a JSON array is decoded). #}
    {%- set double_encoded_fields = [
        ('additional_recruitment_methods', 'additionalRecruitmentMethods'), ('rfi_list', 'rfiEntries'),
        ('rfe_list', 'rfeEntries'), ('documents', 'documents'), ('rfi_documents', 'documents'),
        ('rfe_documents', 'documents'), ('tags', 'tags'), ('notes', 'notes')] %}
    {%- if var('carry_calendar_event_ids') %}
    {%- do double_encoded_fields.append(('calendar_event_ids', 'calendarEventIds')) %}
    {%- endif %}
    {%- for column, field in double_encoded_fields %}
    union all
    select {{ finding("'DQ-22'", "'info'", "'" ~ field ~ "'", column ~ '_raw', json_string_content(column ~ '_raw'),
        "'" ~ column ~ " is double-encoded JSON; decoded once'") }}
    from raw_dates
    where {{ column }}_double_encoded
        {%- if column == 'notes' %} and {{ json_kind(json_parse('notes_raw')) }} = 'array'{% endif %}
    {%- endfor %}

    {#- DQ-27: text changed by the TEXT rule, in columns and inside JSON items (one finding per v2 field). #}
    union all
    select {{ finding("'DQ-27'", "'info'", 'dirty_text_columns', 'cast(null as varchar)', 'cast(null as varchar)',
        "'control characters or surrounding whitespace removed from ' || dirty_text_columns") }}
    from raw_dates
    where dirty_text_columns is not null
    union all
    select {{ finding("'DQ-27'", "'info'", "'notes'", 'cast(null as varchar)', 'cast(null as varchar)',
        "'control characters or surrounding whitespace removed from ' || cleaned_text_items") }}
    from {{ ref('int_cases__notes') }} inner join {{ ref('int_cases__scalars') }} using (case_id)
    where cleaned_text_items is not null
    union all
    select {{ finding("'DQ-27'", "'info'", 'target_field', 'cast(null as varchar)', 'cast(null as varchar)',
        "'control characters or surrounding whitespace removed from '
        || " ~ ordered_string_agg('item_label', "' | '", ['column_order', 'item_position'])) }}
    from cleaned_json_items
    group by case_id, owner_email, target_field

    {#- DQ-19b: more than one active entry in a list. #}
    {%- for kind in ['rfi', 'rfe'] %}
    union all
    select {{ finding("'DQ-19b'", "'warning'", "'" ~ kind ~ "Entries'", 'cast(' ~ kind ~ '_active_count as varchar)', 'cast(null as varchar)',
        "'more than one active " ~ kind | upper ~ " entry; all kept'") }}
    from cases where {{ kind }}_active_count > 1
    {%- endfor %}

    {#- DQ-20: expiration dates against their formulas. #}
    {%- for prefix, field, formula_text in [('pwd', 'pwdExpirationDate', 'the 20 CFR 656.40(c) formula'), ('eta9089', 'eta9089ExpirationDate', 'certification + 180 days')] %}
    {%- set message -%}
        case
            when {{ prefix }}_expiration_date_v1 is null then '{{ field }} filled from {{ formula_text }}'
            when {{ prefix }}_expiration_formula is null then '{{ field }} present without its basis date; kept'
            else '{{ field }} differs from {{ formula_text }} (' || {{ prefix }}_expiration_formula || ')'
                || case when {{ prefix }}_expiration_date = {{ prefix }}_expiration_formula then '; replaced' else '; v1 value kept' end
        end
    {%- endset %}
    union all
    select {{ finding("'DQ-20'", 'case when ' ~ prefix ~ "_expiration_date_v1 is null then 'info' else 'warning' end",
        "'" ~ field ~ "'", prefix ~ '_expiration_date_v1', prefix ~ '_expiration_date', message) }}
    from cases
    where ({{ prefix }}_expiration_date_v1 is null and {{ prefix }}_expiration_formula is not null)
        or ({{ prefix }}_expiration_date_v1 is not null
            and ({{ prefix }}_expiration_formula is null or {{ prefix }}_expiration_formula <> {{ prefix }}_expiration_date_v1))
    {%- endfor %}

    {#- DQ-21: wage and applicant count. #}
    union all
    select {{ finding("'DQ-21'", "'warning'", "'pwdWageAmount'", 'pwd_wage_amount_raw', 'cast(pwd_wage_amount_cents as varchar)',
        "case
            when pwd_wage_amount_invalid then 'pwd_wage_amount is negative or not a number; omitted'
            when pwd_wage_amount_excess_decimals then 'pwd_wage_amount has more than 2 decimals; rounded half-up to cents'
            when pwd_wage_amount_cents = 0 then 'pwd_wage_amount is zero; kept'
            when pwd_wage_amount_cents < 100000 then 'pwd_wage_amount below 1,000 dollars looks hourly on an annual field; kept'
            else 'pwd_wage_amount above 10,000,000 dollars is implausible; kept'
        end") }}
    from cases
    where pwd_wage_amount_invalid or pwd_wage_amount_excess_decimals
        or pwd_wage_amount_cents < 100000 or pwd_wage_amount_cents > 1000000000
    union all
    select {{ finding("'DQ-21'", "'warning'", "'recruitmentApplicantsCount'", 'recruitment_applicants_count_raw', "'0'",
        "'recruitment_applicants_count is negative or not an integer; 0 used'") }}
    from cases where recruitment_applicants_count_invalid

    {#- DQ-22 / DQ-23: recruitment methods. #}
    union all
    select {{ finding("'DQ-22'", "'warning'", "'additionalRecruitmentMethods'", 'additional_recruitment_methods_raw', "'[]'",
        "'additional_recruitment_methods is not a JSON array; [] used'") }}
    from {{ ref('int_cases__recruitment_methods') }} as method_lists
    inner join {{ ref('int_cases__scalars') }} as scalars using (case_id)
    where methods_not_array
    union all
    select {{ finding("case when fate = 'null_item' then 'DQ-22' else 'DQ-23' end", "case when fate = 'null_item' then 'info' else 'warning' end",
        "'additionalRecruitmentMethods'", 'cast(item_position as varchar)', 'cast(null as varchar)',
        "'method item ' || cast(item_position as varchar) || case fate
            when 'null_item' then ' is null; dropped'
            when 'wrong_type' then ' is neither an object nor a string; dropped'
            else ' has neither a method nor a date; dropped' end") }}
    from methods where fate <> 'kept'
    union all
    select {{ finding("'DQ-23'", "'warning'", "'additionalRecruitmentMethods'", 'method_raw', 'method',
        "'method item ' || cast(item_position as varchar) || ': unknown method label; raw text kept'") }}
    from methods where fate = 'kept' and method_unknown
    union all
    select {{ finding("'DQ-23'", "'warning'", "'additionalRecruitmentMethods'", 'method_raw', "''",
        "'method item ' || cast(item_position as varchar) || ': no method; \"\" written'") }}
    from methods where fate = 'kept' and method = ''
    union all
    select {{ finding("'DQ-23'", "'warning'", "'additionalRecruitmentMethods'", 'method', "''",
        "'method item ' || cast(item_position as varchar) || ': no valid date; \"\" written'") }}
    from methods where fate = 'kept' and method_date = ''
    union all
    select {{ finding("'DQ-23'", "'warning'", "'additionalRecruitmentMethods'", 'cast(method_count as varchar)', 'cast(null as varchar)',
        "'more than 3 recruitment methods; kept'") }}
    from cases
    inner join {{ ref('int_cases__recruitment_methods') }} as method_lists using (case_id)
    where method_count > 3
    union all
    select {{ finding("'DQ-23'", "'warning'", "'additionalRecruitmentMethods'", 'cast(distinct_method_count as varchar)', 'cast(null as varchar)',
        "'repeated recruitment method; kept'") }}
    from cases
    inner join {{ ref('int_cases__recruitment_methods') }} as method_lists using (case_id)
    where distinct_method_count < method_count
    union all
    select {{ finding("'DQ-23'", "'warning'", "'additionalRecruitmentMethods'", 'cast(method_count as varchar)', 'cast(null as varchar)',
        "'recruitment methods on a non-professional case; kept, ignored by derived dates'") }}
    from cases
    inner join {{ ref('int_cases__recruitment_methods') }} as method_lists using (case_id)
    where method_count > 0 and not is_professional_occupation

    {#- DQ-22: notes, tags, calendar ids, documents. #}
    union all
    select {{ finding("'DQ-22'", "'warning'", "'notes'", 'cast(dropped_note_count as varchar)', 'cast(null as varchar)',
        "'structured notes without a non-empty string content dropped'") }}
    from {{ ref('int_cases__notes') }} inner join {{ ref('int_cases__scalars') }} using (case_id)
    where dropped_note_count > 0
    union all
    select {{ finding("'DQ-22'", "'info'", "'notes'", 'cast(null_note_count as varchar)', 'cast(null as varchar)',
        "'null elements of the notes array dropped'") }}
    from {{ ref('int_cases__notes') }} inner join {{ ref('int_cases__scalars') }} using (case_id)
    where null_note_count > 0
    union all
    select {{ finding("'DQ-22'", "'info'", "'notes'", 'note_fixes', 'cast(null as varchar)',
        "'invalid note members omitted or fallen back: ' || note_fixes") }}
    from {{ ref('int_cases__notes') }} inner join {{ ref('int_cases__scalars') }} using (case_id)
    where note_fixes is not null
    union all
    select {{ finding("'DQ-22'", "'info'", "'documents'", "'null'", 'cast(null as varchar)',
        "source_column || ' item ' || cast(item_position as varchar) || ' is null; dropped'") }}
    from {{ ref('int_cases__document_items') }}
    where is_null_item
    {%- if var('carry_documents') %}
    union all
    select {{ finding("'DQ-22'", "'info'", "'documents'", 'uploaded_at_raw', 'cast(null as varchar)',
        "'documents item ' || cast(item_position as varchar) || ': uploadedAt is not a timestamp; not carried, listed for re-upload'") }}
    from {{ ref('int_cases__document_items') }}
    where source_column = 'documents' and uploaded_at_invalid
    {%- endif %}
    union all
    select {{ finding("'DQ-22'", "'warning'", "'tags'", 'cast(dropped_element_count as varchar)', 'cast(null as varchar)',
        "'tag elements that are not strings dropped'") }}
    from {{ ref('int_cases__tags') }} inner join {{ ref('int_cases__scalars') }} using (case_id)
    where dropped_element_count > 0
    union all
    select {{ finding("'DQ-22'", "'info'", "'tags'", 'cast(null_element_count as varchar)', 'cast(null as varchar)',
        "'null elements of the tags array dropped'") }}
    from {{ ref('int_cases__tags') }} inner join {{ ref('int_cases__scalars') }} using (case_id)
    where null_element_count > 0
    {%- if var('carry_calendar_event_ids') %}
    union all
    select {{ finding("'DQ-22'", "'warning'", "'calendarEventIds'", 'calendar_event_ids_raw', 'cast(null as varchar)',
        "'calendar_event_ids is not a JSON object; omitted'") }}
    from raw_dates
    where calendar_event_ids_raw is not null and {{ json_parse('calendar_event_ids_raw') }} is not null
        and {{ json_kind(json_parse('calendar_event_ids_raw')) }} <> 'object'
    {%- endif %}

    {#- DQ-25: duplicate cases within one user group. #}
    union all
    select {{ finding("'DQ-25'", "'warning'", "'legacyId'", 'duplicate_key', 'cast(null as varchar)',
        "'possible duplicate case in the same user group (' || duplicate_kind || '); loaded, duplicateOf not set'") }}
    from (
        select case_id, owner_email, 'employer and beneficiary' as duplicate_kind,
            lower(employer_name) || ' / ' || lower(beneficiary_identifier) as duplicate_key,
            count(*) over (partition by owner_email, lower(employer_name), lower(beneficiary_identifier)) as group_size
        from cases where beneficiary_identifier is not null and not employer_name_placeholder
        union all
        select case_id, owner_email, 'case number', case_number,
            count(*) over (partition by owner_email, case_number)
        from cases where case_number is not null
    ) as duplicates
    where group_size > 1

    {#- DQ-28: timestamp fallbacks. #}
    union all
    select {{ finding("'DQ-28'", "'info'", "'createdAt'", 'cast(null as varchar)', 'cast(created_at as varchar)',
        "'created_at is NULL or not a finite timestamp; migration_as_of used'") }}
    from cases where created_at_v1 is null
    union all
    select {{ finding("'DQ-28'", "'info'", "'updatedAt'", 'cast(updated_at_v1 as varchar)', 'cast(updated_at as varchar)',
        "'updated_at is NULL, not a finite timestamp or before created_at; createdAt used'") }}
    from cases where updated_at_v1 is null or updated_at_v1 < created_at

    {#- DQ-29: documents on Supabase Storage. #}
    union all
    select {{ finding("'DQ-29'", "'warning'", "'documents'", 'document_url', 'cast(null as varchar)',
        "source_column || ' item ' || cast(item_position as varchar) || ' is on Supabase Storage; listed for re-upload'") }}
    from {{ ref('int_cases__document_items') }}
    where is_supabase_storage_url

    {#- DQ-31: terminal in v1 with active deadlines. #}
    union all
    select {{ finding("'DQ-31'", "'warning'", "'caseStatus'", 'case_status', "'closed'",
        "'terminal v1 case still has active deadlines or RFI/RFE entries; closed with override'") }}
    from cases where status_rule = 1 and has_active_deadline

    {#- DQ-32: future dates. #}
    {%- for column, field in future_fields %}
    union all
    select {{ finding("'DQ-32'", "'warning'", "'" ~ field ~ "'", column, column,
        "'" ~ field ~ " is later than migration_as_of; loaded'") }}
    from cases where {{ column }} > {{ as_of_date() }}
    {%- endfor %}

    {#- Findings on the loaded public.case_rfi / public.case_rfe rows themselves: their timestamp (DQ-16)
        and text columns (DQ-27). #}
    {%- for kind in ['rfi', 'rfe'] %}
    union all
    select {{ finding("'DQ-16'", "'warning'", "'" ~ kind ~ "Entries'", 'entry_rows.created_at_unreadable', 'cast(entries.created_at as varchar)',
        "entries.entry_id || ': created_at is not a finite timestamp; the case createdAt used'",
        source_table="'public.case_" ~ kind ~ "'", v1_id='entries.source_row_id', case_legacy_id='entries.case_id',
        owner_email='entries.owner_email') }}
    from entries
    inner join {{ ref('stg_supabase__case_' ~ kind) }} as entry_rows
        on entry_rows.row_id = entries.source_row_id
    where entries.kind = '{{ kind }}' and entries.source_rank = 1 and entries.fate = 'kept'
        and entry_rows.created_at_unreadable is not null
    union all
    select {{ finding("'DQ-27'", "'info'", 'entry_rows.dirty_text_columns', 'cast(null as varchar)', 'cast(null as varchar)',
        "'control characters or surrounding whitespace removed from ' || entry_rows.dirty_text_columns",
        source_table="'public.case_" ~ kind ~ "'", v1_id='entries.source_row_id', case_legacy_id='entries.case_id',
        owner_email='entries.owner_email') }}
    from entries
    inner join {{ ref('stg_supabase__case_' ~ kind) }} as entry_rows
        on entry_rows.row_id = entries.source_row_id
    where entries.kind = '{{ kind }}' and entries.source_rank = 1 and entries.fate = 'kept'
        and entry_rows.dirty_text_columns is not null
    {%- endfor %}
)

select
    dq_id,
    level,
    source_table,
    v1_id,
    case_legacy_id,
    owner_email,
    target_field,
    original_value,
    resulting_value,
    source_table || ' ' || v1_id || ': ' || message as message
from findings
