{#- One row per (loaded case, failing v2 error-level rule) (DQ-17 export, §4.4): v2 rejects every save
    of these cases through its case update until they are fixed. -#}
select
    case_id as case_legacy_id,
    owner_email,
    rule_id,
    target_field,
    message
from {{ ref('int_cases__v2_validation') }}
