{#- MAPPING_SPEC §3.9.6 addBusinessDays vectors against the real calendar; returns failing vectors. -#}
with vectors as (
    select '2025-01-15' as start_date, 10 as n, '2025-01-30' as expected
    union all select '2024-12-21', 1, '2024-12-23'
    union all select '2024-12-22', 1, '2024-12-23'
    union all select '2024-12-20', 1, '2024-12-23'
    union all select '2024-11-25', 5, '2024-12-03'
    union all select '2024-12-23', 5, '2024-12-31'
    union all select '2025-07-03', 2, '2025-07-08'
    union all select '2024-12-21', 0, '2024-12-21'
    union all select '2024-12-25', 0, '2024-12-25'
    union all select '2024-12-23', 0, '2024-12-23'
)

select vectors.*, added.cal_date as actual
from vectors
{{ cases_add_business_days_join('vectors.start_date', 'vectors.n', 'added') }}
where added.cal_date is null or added.cal_date <> vectors.expected
