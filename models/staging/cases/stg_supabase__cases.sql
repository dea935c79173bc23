{#- One row per v1 case (public.cases), soft-deleted rows included. Rename, cast and clean only, with
    the flags of what cleaning changed (double-encoded JSON, DQ-22; text changed by the TEXT rule, DQ-27;
    timestamps that are not finite, `*_unreadable`, DQ-16). `is_soft_deleted` is `deleted_at IS NOT NULL`
    (DQ-04), whatever the value.
    Materialized as a table: every case model reads it, so dates and text are parsed once. -#}
{{ config(materialized='table') }}
{%- set text_columns = [
    'case_number', 'internal_case_number', 'employer_name', 'employer_fein', 'beneficiary_identifier',
    'position_title', 'job_title', 'soc_code', 'soc_title', 'job_order_state', 'case_status',
    'progress_status', 'priority_level', 'pwd_case_number', 'pwd_wage_level', 'sunday_ad_newspaper',
    'recruitment_notes', 'recruitment_summary_custom', 'eta9089_case_number', 'rfi_notes', 'rfe_notes',
    'i140_receipt_number', 'i140_category', 'i140_service_center'] -%}
{%- set date_columns = [
    'pwd_filing_date', 'pwd_determination_date', 'pwd_expiration_date', 'job_order_start_date',
    'job_order_end_date', 'sunday_ad_first_date', 'sunday_ad_second_date', 'notice_of_filing_start_date',
    'notice_of_filing_end_date', 'additional_recruitment_start_date', 'additional_recruitment_end_date',
    'eta9089_filing_date', 'eta9089_audit_date', 'eta9089_certification_date', 'eta9089_expiration_date',
    'rfi_received_date', 'rfi_response_due_date', 'rfi_response_submitted_date', 'rfe_received_date',
    'rfe_response_due_date', 'rfe_response_submitted_date', 'i140_filing_date', 'i140_receipt_date',
    'i140_approval_date', 'i140_denial_date'] -%}
{%- set raw_text_columns = [
    'additional_recruitment_methods', 'rfi_list', 'rfe_list', 'rfi_documents', 'rfe_documents', 'notes',
    'tags', 'documents', 'calendar_event_ids'] -%}

select
    lower(trim(cast(id as varchar))) as case_id,
    lower(trim(cast(user_id as varchar))) as user_ref,
    {%- for column in text_columns %}
    {{ clean_text(column) }} as {{ column }},
    {%- endfor %}
    {%- for column in date_columns %}
    {{ parse_date(column) }} as {{ column }},
    {{ stored_text(column) }} as {{ column }}_raw,
    {%- endfor %}
    {%- for column in raw_text_columns %}
    cast({{ column }} as varchar) as {{ column }}_raw,
    {{ json_is_double_encoded(column) }} as {{ column }}_double_encoded,
    {%- endfor %}
    {{ dirty_text_columns('raw_cases', text_columns) }} as dirty_text_columns,
    cast(pwd_wage_amount as varchar) as pwd_wage_amount_raw,
    cast(recruitment_applicants_count as varchar) as recruitment_applicants_count_raw,
    progress_status_override,
    is_favorite,
    is_professional_occupation,
    calendar_sync_enabled,
    i140_premium_processing,
    {%- for column in ['created_at', 'updated_at', 'deleted_at'] %}
    {{ epoch_ms(column) }} as {{ column }}_ms,
    {{ unreadable_timestamp(column) }} as {{ column }}_unreadable,
    {%- endfor %}
    deleted_at is not null as is_soft_deleted
from {{ source('supabase', 'cases') }} as raw_cases
