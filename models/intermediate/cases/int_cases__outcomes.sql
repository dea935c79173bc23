{#- One row per public.cases source row with its outcome (§4.1): loaded, rejected (DQ-06, the owner
    identity's DQ id, or DQ-27 naming the oversized column) or excluded (soft_deleted, owner_excluded). The source-row JSON is built
    only for rejected rows: they are joined first, the JSON is projected on the join's output. -#}
with rejected_rows as (
    select
        raw_rows.case_id,
        {{ row_json('raw_rows', raw_columns('cases')) }} as source_row
    from {{ ref('int_cases__ownership') }} as owners
    inner join {{ ref('stg_supabase__case_source_rows') }} as raw_rows
        on raw_rows.case_id = owners.case_id
    where owners.outcome = 'rejected'
)

select
    'public.cases' as source_table,
    owners.case_id as v1_id,
    owners.outcome,
    owners.reason,
    owners.dq_id,
    owners.field,
    case when owners.field = 'user_id' then owners.user_ref end as value,
    case when owners.outcome <> 'loaded' then 'public.cases ' || owners.case_id || ': ' || owners.message end as message,
    rejected_rows.source_row
from {{ ref('int_cases__ownership') }} as owners
left join rejected_rows
    on rejected_rows.case_id = owners.case_id
