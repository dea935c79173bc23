{#- One row per DQ-21 finding on a loaded case (wage or applicant-count anomaly) (§4.5 list): original value,
    resulting value (cents or count) and the reason. -#}
select
    case_legacy_id,
    owner_email,
    target_field,
    original_value,
    resulting_value,
    message
from {{ ref('int_cases__findings') }}
where dq_id = 'DQ-21'
