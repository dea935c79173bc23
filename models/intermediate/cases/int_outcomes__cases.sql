{#- One row per public.cases source row with its outcome (§4.1): loaded, rejected (DQ-06, or the
    owner identity's DQ id) or excluded (soft_deleted, owner_excluded). -#}
select
    'public.cases' as source_table,
    case_id as v1_id,
    outcome,
    reason,
    dq_id,
    case when outcome = 'rejected' then 'user_id' end as field,
    case when outcome = 'rejected' then user_ref end as value,
    case when outcome <> 'loaded' then 'public.cases ' || case_id || ': ' || message end as message,
    case when outcome = 'rejected' then source_row end as source_row
from {{ ref('int_cases__ownership') }}
