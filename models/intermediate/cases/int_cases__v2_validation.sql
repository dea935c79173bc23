{#- One row per (loaded case, failing v2 error-level rule) of MAPPING_SPEC §4.4 (DQ-17), evaluated on
    the mapped case with derived dates. A rule runs only when every field it names is present. -#}
{%- set rules = [
    ('V-PWD-01', 'pwdFilingDate', 'pwd_filing_date >= pwd_determination_date', 'pwdFilingDate is not before pwdDeterminationDate'),
    ('V-PWD-02', 'pwdDeterminationDate', 'pwd_determination_date >= pwd_expiration_date', 'pwdDeterminationDate is not before pwdExpirationDate'),
    ('V-REC-01', 'sundayAdFirstDate', day_of_week('sunday_ad_first_date') ~ ' <> 0', 'sundayAdFirstDate is not a Sunday'),
    ('V-REC-02', 'sundayAdSecondDate', day_of_week('sunday_ad_second_date') ~ ' <> 0', 'sundayAdSecondDate is not a Sunday'),
    ('V-REC-03', 'sundayAdSecondDate', 'sunday_ad_second_date <= sunday_ad_first_date', 'sundayAdSecondDate is not after sundayAdFirstDate'),
    ('V-REC-04', 'jobOrderEndDate', 'job_order_end_date <= job_order_start_date', 'jobOrderEndDate is not after jobOrderStartDate'),
    ('V-REC-05', 'jobOrderEndDate', day_diff('job_order_start_date', 'job_order_end_date') ~ ' < 30', 'job order shorter than 30 days'),
    ('V-REC-06', 'noticeOfFilingEndDate', 'notice_of_filing_end_date <= notice_of_filing_start_date', 'noticeOfFilingEndDate is not after noticeOfFilingStartDate'),
    ('V-REC-07', 'noticeOfFilingEndDate', 'notice_business_days < 10', 'notice of filing shorter than 10 business days'),
    ('V-REC-08', 'noticeOfFilingEndDate', 'notice_of_filing_start_date is not null and notice_of_filing_end_date is null', 'noticeOfFilingStartDate without noticeOfFilingEndDate'),
    ('V-REC-09', 'noticeOfFilingStartDate', 'notice_of_filing_end_date is not null and notice_of_filing_start_date is null', 'noticeOfFilingEndDate without noticeOfFilingStartDate'),
    ('V-ETA-01', 'eta9089FilingDate', day_diff('recruitment_end_date', 'eta9089_filing_date') ~ ' < 30', 'eta9089FilingDate less than 30 days after recruitmentEndDate'),
    ('V-ETA-02', 'eta9089FilingDate', day_diff('recruitment_start_date', 'eta9089_filing_date') ~ ' > 180', 'eta9089FilingDate more than 180 days after recruitmentStartDate'),
    ('V-ETA-03', 'eta9089FilingDate', 'eta9089_filing_date >= pwd_expiration_date', 'eta9089FilingDate is not before pwdExpirationDate'),
    ('V-ETA-04', 'eta9089CertificationDate', 'eta9089_certification_date <= eta9089_filing_date', 'eta9089CertificationDate is not after eta9089FilingDate'),
    ('V-I140-01', 'i140FilingDate', 'i140_filing_date <= eta9089_certification_date', 'i140FilingDate is not after eta9089CertificationDate'),
    ('V-I140-02', 'i140FilingDate', day_diff('eta9089_certification_date', 'i140_filing_date') ~ ' > 180', 'i140FilingDate more than 180 days after eta9089CertificationDate'),
    ('V-I140-03', 'i140ApprovalDate', 'i140_approval_date <= i140_filing_date', 'i140ApprovalDate is not after i140FilingDate'),
    ('V-RFI-01', 'rfiEntries', "nullif(rfi_validation_received_date, '') <= eta9089_filing_date", 'validation RFI receivedDate is not after eta9089FilingDate'),
    ('V-RFI-02', 'rfiEntries', "nullif(rfi_validation_due_date, '') <> " ~ add_days("nullif(rfi_validation_received_date, '')", 30), 'validation RFI responseDueDate is not receivedDate + 30'),
    ('V-RFI-03', 'rfiEntries', "rfi_validation_submitted_date <= nullif(rfi_validation_received_date, '')", 'validation RFI responseSubmittedDate is not after receivedDate'),
    ('V-RFE-01', 'rfeEntries', "nullif(rfe_validation_received_date, '') <= i140_filing_date", 'validation RFE receivedDate is not after i140FilingDate'),
    ('V-RFE-02', 'rfeEntries', "nullif(rfe_validation_due_date, '') <= nullif(rfe_validation_received_date, '')", 'validation RFE responseDueDate is not after receivedDate'),
    ('V-RFE-03', 'rfeEntries', "rfe_validation_submitted_date <= nullif(rfe_validation_received_date, '')", 'validation RFE responseSubmittedDate is not after receivedDate'),
] -%}

with cases as (
    select
        mapped.*,
        {{ count_business_days('notice') }} as notice_business_days
    from {{ ref('int_cases__mapped') }} as mapped
    {{ business_day_range_join(ref('int_cases__business_calendar'), 'mapped.notice_of_filing_start_date', 'mapped.notice_of_filing_end_date', 'notice') }}
)

{%- for rule_id, field, condition, message in rules %}
{{ 'union all' if not loop.first }}
select
    case_id,
    owner_email,
    '{{ rule_id }}' as rule_id,
    '{{ field }}' as target_field,
    '{{ message }}' as message
from cases
where coalesce({{ condition }}, false)
{%- endfor %}
