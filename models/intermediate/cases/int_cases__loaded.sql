{#- One row per loaded case (docs/INTERFACES.md §3): v1 case uuid and owner group email. -#}
select case_id, owner_email
from {{ ref('int_cases__ownership') }}
where outcome = 'loaded'
