{#- One row per element of additional_recruitment_methods of a loaded case (§3.7), mapped to
    {method, date, description}, with its fate: `kept`, or dropped (`null_item`, `no_method_no_date`,
    `wrong_type`), the DQ-23 flags, and whether the TEXT rule changed the description (DQ-27). -#}
{%- set normalise = "regexp_replace(lower(trim(RAW)), '[[:space:]]+', ' ', 'g')" -%}

with cases as (
    select stg.case_id, stg.additional_recruitment_methods_raw
    from {{ ref('stg_supabase__cases') }} as stg
    inner join {{ ref('int_cases__scalars') }} as scalars
        on scalars.case_id = stg.case_id
),

items as (
    select
        items.case_id,
        items.item_index + 1 as item_position,
        items.item,
        {{ json_kind('items.item') }} as item_kind,
        case {{ json_kind('items.item') }}
            when 'object' then coalesce(
                {{ clean_text(json_member_text('items.item', 'method')) }},
                {{ clean_text(json_member_text('items.item', 'type')) }})
            when 'string' then {{ clean_text(json_scalar_text('items.item')) }}
        end as method_raw,
        {{ parse_date(json_member_text('items.item', 'date')) }} as single_date,
        coalesce(
            {{ clean_text(json_member_text('items.item', 'description')) }},
            {{ clean_text(json_member_text('items.item', 'outlet')) }}) as description_raw,
        case when {{ clean_text(json_member_text('items.item', 'description')) }} is not null
            then {{ json_member_text('items.item', 'description') }}
            else {{ json_member_text('items.item', 'outlet') }}
        end as description_source
    from {{ json_array_rows('cases', ['case_id'], json_parse('cases.additional_recruitment_methods_raw'), 'items') }}
),

broadcast_dates as (
    select
        dates.case_id,
        dates.item_position,
        {{ parse_date(json_scalar_text('dates.item')) }} as broadcast_date
    from {{ json_array_rows('items', ['case_id', 'item_position'], json_member('items.item', 'dates'), 'dates') }}
),

dates_per_item as (
    select
        case_id,
        item_position,
        max(broadcast_date) as latest_date,
        count(broadcast_date) as valid_date_count,
        {{ ordered_string_agg('broadcast_date', "', '", ['broadcast_date']) }} as date_list
    from broadcast_dates
    where broadcast_date is not null
    group by case_id, item_position
),

mapped as (
    select
        items.case_id,
        items.item_position,
        items.item_kind,
        items.method_raw,
        coalesce(labels.method, items.method_raw, '') as method,
        items.method_raw is not null and labels.method is null as method_unknown,
        {#- = is_text_cleaned(description_source): its cleaned text is description_raw (no second regex pass) -#}
        coalesce(items.description_source <> coalesce(items.description_raw, ''), false) as description_cleaned,
        case when items.item_kind = 'object'
            then coalesce(items.single_date, dates_per_item.latest_date, '') else '' end as method_date,
        case
            when coalesce(dates_per_item.valid_date_count, 0) > 1 and items.description_raw is not null
                then items.description_raw || ' (dates: ' || dates_per_item.date_list || ')'
            when coalesce(dates_per_item.valid_date_count, 0) > 1
                then '(dates: ' || dates_per_item.date_list || ')'
            else items.description_raw
        end as description
    from items
    left join dates_per_item
        on dates_per_item.case_id = items.case_id and dates_per_item.item_position = items.item_position
    left join {{ ref('cases_recruitment_method_labels') }} as labels
        on labels.label_norm = {{ normalise | replace('RAW', 'items.method_raw') }}
)

select
    mapped.*,
    case
        when mapped.item_kind is null or mapped.item_kind = 'null' then 'null_item'
        when mapped.item_kind not in ('object', 'string') then 'wrong_type'
        when mapped.method = '' and mapped.method_date = '' then 'no_method_no_date'
        else 'kept'
    end as fate
from mapped
