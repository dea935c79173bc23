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
),

per_row_n as (
    select vectors.*, added.cal_date as actual
    from vectors
    {{ add_business_days_join(ref('int_cases__business_calendar'), 'vectors.start_date', 'vectors.n', 'added') }}
),

{#- A literal n renders its own join condition (the path the models take). -#}
literal_n as (
    select weekend.start_date, 0 as n, '2024-12-21' as expected, added.cal_date as actual
    from (select '2024-12-21' as start_date) as weekend
    {{ add_business_days_join(ref('int_cases__business_calendar'), 'weekend.start_date', 0, 'added') }}
    union all
    select mid_january.start_date, 10, '2025-01-30', added.cal_date
    from (select '2025-01-15' as start_date) as mid_january
    {{ add_business_days_join(ref('int_cases__business_calendar'), 'mid_january.start_date', 10, 'added') }}
),

results as (
    select * from per_row_n
    union all
    select * from literal_n
)

select *
from results
where actual is null or actual <> expected
