{#- Business-day arithmetic (§3.9.6) as joins (no per-row loops) over a business calendar relation `calendar`
    (the caller passes ref('int_cases__business_calendar'): cal_date, business_day_seq, is_business_day). -#}

{#- FROM-clause joins adding `<alias>.cal_date` = addBusinessDays(start_expr, n) for n ≥ 0
    (the start day itself never counts, n = 0 returns it unchanged even on a weekend or holiday;
    NULL when start_expr is NULL or off the calendar). -#}
{% macro add_business_days_join(calendar, start_expr, n, alias) -%}
left join {{ calendar }} as {{ alias }}_start
    on {{ alias }}_start.cal_date = {{ start_expr }}
left join {{ calendar }} as {{ alias }}
    on {{ alias }}.business_day_seq = {{ alias }}_start.business_day_seq + {{ n }}
{%- if n is number %}
    and {{ alias ~ '.cal_date = ' ~ alias ~ '_start.cal_date' if n == 0 else alias ~ '.is_business_day' }}
{%- else %}
    {#- n per row (the test vectors): a condition over both sides, which DuckDB can only run as a
        nested-loop join; a literal n (the models) keeps the hash join, at 1M cases 8 s against 270 s. #}
    and (case when {{ n }} = 0 then {{ alias }}.cal_date = {{ alias }}_start.cal_date else {{ alias }}.is_business_day end)
{%- endif %}
{%- endmacro %}

{#- FROM-clause joins exposing the calendar rows of a start and an end date, for count_business_days. -#}
{% macro business_day_range_join(calendar, start_expr, end_expr, alias) -%}
left join {{ calendar }} as {{ alias }}_start
    on {{ alias }}_start.cal_date = {{ start_expr }}
left join {{ calendar }} as {{ alias }}_end
    on {{ alias }}_end.cal_date = {{ end_expr }}
{%- endmacro %}

{#- countBusinessDays(start, end): business days in the inclusive range, 0 when end < start. -#}
{% macro count_business_days(alias) -%}
(case when {{ alias }}_end.cal_date < {{ alias }}_start.cal_date then 0
      else {{ alias }}_end.business_day_seq - {{ alias }}_start.business_day_seq
           + case when {{ alias }}_start.is_business_day then 1 else 0 end end)
{%- endmacro %}
