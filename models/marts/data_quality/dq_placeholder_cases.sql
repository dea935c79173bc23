{#- One row per (loaded case, required text field written as the placeholder `[NEEDS ENTRY]`) (DQ-12
    list, §4.5), so that users can complete them. -#}
select
    case_legacy_id,
    owner_email,
    target_field,
    message
from {{ ref('int_cases__findings') }}
where dq_id = 'DQ-12'
