{#- One row per loaded case: scalar fields mapped (§3.4 step 1) and fills (step 2: pwdExpirationDate,
    eta9089ExpirationDate, noticeOfFilingEndDate), with the inputs the DQ findings need. -#}
{%- set collapse = "regexp_replace(lower(trim(cases.job_order_state)), '[[:space:]]+', ' ', 'g')" -%}
{%- set wage_level = "regexp_replace(lower(cases.pwd_wage_level), '^level[[:space:]]*', '')" -%}
{%- set i140 = "regexp_replace(upper(cases.i140_category), '[[:space:]-]', '', 'g')" -%}

with cases as (
    select
        cases.*,
        owners.owner_email,
        coalesce(cases.created_at_ms, {{ as_of_ms() }}) as mapped_created_at
    from {{ ref('stg_supabase__cases') }} as cases
    inner join {{ ref('int_cases__ownership') }} as owners
        on owners.case_id = cases.case_id and owners.outcome = 'loaded'
),

pwd_formula as (
    select
        case_id,
        case
            when pwd_determination_date is null then null
            when substr(pwd_determination_date, 6, 5) between '04-02' and '06-30'
                then {{ add_days('pwd_determination_date', 90) }}
            when substr(pwd_determination_date, 6, 5) >= '07-01'
                then {{ date_in_year('pwd_determination_date', 1, '06-30') }}
            else {{ date_in_year('pwd_determination_date', 0, '06-30') }}
        end as pwd_expiration_formula,
        case when eta9089_certification_date is not null
            then {{ add_days('eta9089_certification_date', 180) }} end as eta9089_expiration_formula
    from cases
)

select
    cases.case_id,
    cases.user_ref,
    cases.owner_email,
    cases.case_number,
    cases.internal_case_number,
    coalesce(cases.employer_name, '[NEEDS ENTRY]') as employer_name,
    cases.employer_name is null as employer_name_placeholder,
    cases.employer_fein,
    {%- if var('require_beneficiary_identifier') %}
    coalesce(cases.beneficiary_identifier, '[NEEDS ENTRY]') as beneficiary_identifier,
    cases.beneficiary_identifier is null as beneficiary_identifier_placeholder,
    {%- else %}
    cases.beneficiary_identifier,
    false as beneficiary_identifier_placeholder,
    {%- endif %}
    coalesce(cases.position_title, '[NEEDS ENTRY]') as position_title,
    cases.position_title is null as position_title_placeholder,
    cases.job_title,
    cases.soc_code,
    cases.soc_title,
    cases.job_order_state as job_order_state_raw,
    coalesce(states_by_code.state_code, states_by_name.state_code, cases.job_order_state) as job_order_state,
    cases.job_order_state is not null and coalesce(states_by_code.state_code, states_by_name.state_code) is null
        as job_order_state_unknown,
    cases.case_status,
    cases.progress_status,
    cases.progress_status_override,
    cases.priority_level as priority_level_raw,
    case lower(cases.priority_level)
        when 'low' then 'low'
        when 'high' then 'high'
        when 'urgent' then 'urgent'
        when 'critical' then 'urgent'
        else 'normal'
    end as priority_level,
    cases.priority_level is not null
        and lower(cases.priority_level) not in ('low', 'normal', 'medium', 'med', 'default', 'high', 'urgent', 'critical')
        as priority_level_unknown,
    cases.pwd_filing_date,
    cases.pwd_determination_date,
    pwd_formula.pwd_expiration_formula,
    cases.pwd_expiration_date as pwd_expiration_date_v1,
    case
        when cases.pwd_expiration_date is null then pwd_formula.pwd_expiration_formula
        {%- if var('recompute_pwd_expiration') %}
        when pwd_formula.pwd_expiration_formula is not null then pwd_formula.pwd_expiration_formula
        {%- endif %}
        else cases.pwd_expiration_date
    end as pwd_expiration_date,
    cases.pwd_case_number,
    cases.pwd_wage_amount_raw,
    {{ dollars_to_cents('cases.pwd_wage_amount_raw') }} as pwd_wage_amount_cents,
    {{ dollars_is_invalid('cases.pwd_wage_amount_raw') }} as pwd_wage_amount_invalid,
    {{ dollars_has_excess_decimals('cases.pwd_wage_amount_raw') }} as pwd_wage_amount_excess_decimals,
    cases.pwd_wage_level as pwd_wage_level_raw,
    case {{ wage_level }}
        when 'i' then 'Level I' when '1' then 'Level I'
        when 'ii' then 'Level II' when '2' then 'Level II'
        when 'iii' then 'Level III' when '3' then 'Level III'
        when 'iv' then 'Level IV' when '4' then 'Level IV'
        else cases.pwd_wage_level
    end as pwd_wage_level,
    cases.pwd_wage_level is not null and {{ wage_level }} not in ('i', '1', 'ii', '2', 'iii', '3', 'iv', '4')
        as pwd_wage_level_unknown,
    cases.job_order_start_date,
    cases.job_order_end_date,
    cases.sunday_ad_first_date,
    cases.sunday_ad_second_date,
    cases.sunday_ad_newspaper,
    cases.notice_of_filing_start_date,
    case
        when cases.notice_of_filing_end_date is not null then cases.notice_of_filing_end_date
        when cases.notice_of_filing_start_date is not null then notice_end.cal_date
    end as notice_of_filing_end_date,
    cases.notice_of_filing_end_date is null and cases.notice_of_filing_start_date is not null
        as notice_of_filing_end_filled,
    cases.additional_recruitment_start_date,
    cases.additional_recruitment_end_date,
    cases.recruitment_notes,
    cases.recruitment_applicants_count_raw,
    case
        when {{ regex_match('trim(cases.recruitment_applicants_count_raw)', '^[0-9]{1,15}$') }}
            then cast(trim(cases.recruitment_applicants_count_raw) as bigint)
        else 0
    end as recruitment_applicants_count,
    cases.recruitment_applicants_count_raw is not null
        and not {{ regex_match('trim(cases.recruitment_applicants_count_raw)', '^[0-9]{1,15}$') }}
        as recruitment_applicants_count_invalid,
    cases.recruitment_summary_custom,
    coalesce(cases.is_professional_occupation, false) as is_professional_occupation,
    cases.eta9089_filing_date,
    cases.eta9089_audit_date,
    cases.eta9089_certification_date,
    pwd_formula.eta9089_expiration_formula,
    cases.eta9089_expiration_date as eta9089_expiration_date_v1,
    coalesce(cases.eta9089_expiration_date, pwd_formula.eta9089_expiration_formula) as eta9089_expiration_date,
    cases.eta9089_case_number,
    cases.i140_filing_date,
    cases.i140_receipt_date,
    cases.i140_receipt_number,
    cases.i140_approval_date,
    cases.i140_denial_date,
    cases.i140_service_center,
    cases.i140_category as i140_category_raw,
    case
        when {{ i140 }} in ('EB1', '1') then 'EB-1'
        when {{ i140 }} in ('EB2', '2') then 'EB-2'
        when {{ i140 }} in ('EB3', '3') then 'EB-3'
    end as i140_category,
    cases.i140_category is not null and {{ i140 }} not in ('EB1', '1', 'EB2', '2', 'EB3', '3')
        as i140_category_unknown,
    cases.i140_premium_processing,
    coalesce(cases.is_favorite, false) as is_favorite,
    coalesce(cases.calendar_sync_enabled, true) as calendar_sync_enabled,
    cases.mapped_created_at as created_at,
    case
        when cases.updated_at_ms is null or cases.updated_at_ms < cases.mapped_created_at then cases.mapped_created_at
        else cases.updated_at_ms
    end as updated_at,
    cases.created_at_ms as created_at_v1,
    cases.updated_at_ms as updated_at_v1,
    {%- if var('include_soft_deleted_cases') %}
    cases.deleted_at_ms as deleted_at
    {%- else %}
    cast(null as bigint) as deleted_at
    {%- endif %}
from cases
inner join pwd_formula
    on pwd_formula.case_id = cases.case_id
left join {{ ref('cases_us_states') }} as states_by_code
    on states_by_code.state_code = upper(cases.job_order_state)
left join {{ ref('cases_us_states') }} as states_by_name
    on lower(states_by_name.state_name) = {{ collapse }}
{{ add_business_days_join(ref('int_cases__business_calendar'), 'cases.notice_of_filing_start_date', 10, 'notice_end') }}
