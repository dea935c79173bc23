{#- MAPPING_SPEC §3.9.6 countBusinessDays vectors against the real calendar; returns failing vectors. -#}
with vectors as (
    select '2025-01-01' as start_date, '2025-01-10' as end_date, 7 as expected
    union all select '2024-12-21', '2024-12-21', 0
    union all select '2024-12-18', '2024-12-18', 1
    union all select '2025-01-15', '2025-01-22', 5
    union all select '2024-11-25', '2024-11-29', 4
    union all select '2024-12-21', '2024-12-22', 0
    union all select '2024-12-30', '2025-01-02', 3
    union all select '2025-02-03', '2025-02-07', 5
    union all select '2025-01-10', '2025-01-01', 0
)

select vectors.*, {{ count_business_days('counted') }} as actual
from vectors
{{ business_day_range_join(ref('int_cases__business_calendar'), 'vectors.start_date', 'vectors.end_date', 'counted') }}
where {{ count_business_days('counted') }} is null or {{ count_business_days('counted') }} <> vectors.expected
