{#- MAPPING_SPEC §3.9.6 holiday vectors (counts per year, observed and floating dates, the
    previous-year quirk) against the calendar; returns failing checks. -#}
with calendar as (
    select * from {{ ref('int_cases__business_calendar') }}
),

year_counts as (
    select substr(cal_date, 1, 4) as holiday_year, count(*) as holidays
    from calendar
    where is_holiday
    group by substr(cal_date, 1, 4)
),

expected_counts as (
    select '2024' as holiday_year, 11 as holidays
    union all select '2025', 11
    union all select '2021', 12
    union all select '2029', 12
),

expected_days as (
    select '2026-07-03' as cal_date, true as is_holiday
    union all select '2026-07-04', false
    union all select '2027-12-24', true
    union all select '2023-01-02', true
    union all select '2029-01-19', true
    union all select '2024-05-27', true
    union all select '2024-11-28', true
    union all select '2025-01-20', true
    union all select '2021-12-31', false
)

select 'count ' || expected_counts.holiday_year as failing_check
from expected_counts
left join year_counts on year_counts.holiday_year = expected_counts.holiday_year
where year_counts.holidays is null or year_counts.holidays <> expected_counts.holidays
union all
select 'day ' || expected_days.cal_date
from expected_days
left join calendar on calendar.cal_date = expected_days.cal_date
where calendar.is_holiday is null or calendar.is_holiday <> expected_days.is_holiday
