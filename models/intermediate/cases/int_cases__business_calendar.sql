{#- One row per calendar date 1990-01-01 .. 2101-12-31 with v2's business-day flag (§3.9.6) and a
    running business-day number, so business-day arithmetic is a join instead of a per-row loop. -#}
with digits as (
    select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
),

day_offsets as (
    select d1.d + 10 * d2.d + 100 * d3.d + 1000 * d4.d + 10000 * d5.d as day_offset
    from digits as d1
    cross join digits as d2
    cross join digits as d3
    cross join digits as d4
    cross join digits as d5
),

dates as (
    select {{ add_days("'1990-01-01'", 'day_offset') }} as cal_date
    from day_offsets
    where day_offset <= {{ day_diff("'1990-01-01'", "'2101-12-31'") }}
),

flagged as (
    select
        dates.cal_date,
        {{ day_of_week('dates.cal_date') }} as day_of_week,
        holidays.holiday_date is not null as is_holiday
    from dates
    left join {{ ref('cases_federal_holidays') }} as holidays
        on {{ date_to_text('holidays.holiday_date') }} = dates.cal_date
)

select
    cal_date,
    day_of_week,
    is_holiday,
    (day_of_week not in (0, 6) and not is_holiday) as is_business_day,
    cast(sum(case when day_of_week not in (0, 6) and not is_holiday then 1 else 0 end)
        over (order by cal_date rows between unbounded preceding and current row) as integer) as business_day_seq
from flagged
