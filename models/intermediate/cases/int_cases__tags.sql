{#- One row per loaded case: tags as a JSON array (§3.8.2): JSON/text[] arrays keep their string
    elements, other text is split on `,` (a JSON string, also double-encoded: its content; JSON null:
    no tags); trimmed, empties dropped, exact duplicates removed keeping the first position. Dropped
    elements are counted: JSON nulls (DQ-22 info) apart from other non-strings (DQ-22 warning). -#}
with parsed as (
    select
        scalars.case_id,
        stg.tags_raw,
        {{ json_parse('stg.tags_raw') }} as tags_value
    from {{ ref('int_cases__scalars') }} as scalars
    inner join {{ ref('stg_supabase__cases') }} as stg
        on stg.case_id = scalars.case_id
    where stg.tags_raw is not null
    {%- if target.type == 'postgres' %}
    offset 0 {#- a fence: inlined, this CTE would be parsed again at every reference to tags_value #}
    {%- endif %}
),

cases as (
    select
        case_id,
        tags_value,
        {{ json_kind('tags_value') }} = 'array' as is_array,
        case
            when {{ json_kind('tags_value') }} = 'string' then {{ json_scalar_text('tags_value') }}
            when tags_value is null and not {{ json_is_invalid('tags_raw') }} then null
            else tags_raw
        end as tags_text
    from parsed
),

array_parts as (
    select
        items.case_id,
        items.item_index + 1 as part_index,
        case when {{ json_kind('items.item') }} = 'string' then {{ clean_text(json_scalar_text('items.item')) }} end as tag,
        coalesce({{ json_kind('items.item') }}, 'null') not in ('string', 'null') as is_dropped_element,
        coalesce({{ json_kind('items.item') }}, 'null') = 'null' as is_null_element
    from {{ json_array_rows('cases', ['case_id'], 'cases.tags_value', 'items') }}
),

text_cases as (
    select case_id, tags_text
    from cases
    where not coalesce(is_array, false) and tags_text is not null
),

text_parts as (
    select
        parts.case_id,
        parts.part_index,
        {{ clean_text('parts.part') }} as tag,
        false as is_dropped_element,
        false as is_null_element
    from {{ split_rows('text_cases', ['case_id'], 'text_cases.tags_text', ',', 'parts') }}
),

all_parts as (
    select * from array_parts
    union all
    select * from text_parts
),

first_positions as (
    select case_id, tag, min(part_index) as first_index
    from all_parts
    where tag is not null
    group by case_id, tag
),

per_case as (
    select case_id, '[' || {{ ordered_string_agg(json_string('tag'), "','", ['first_index']) }} || ']' as tags_json
    from first_positions
    group by case_id
),

dropped as (
    select
        case_id,
        count(case when is_dropped_element then 1 end) as dropped_element_count,
        count(case when is_null_element then 1 end) as null_element_count
    from all_parts
    where is_dropped_element or is_null_element
    group by case_id
)

select
    scalars.case_id,
    coalesce(per_case.tags_json, '[]') as tags_json,
    coalesce(dropped.dropped_element_count, 0) as dropped_element_count,
    coalesce(dropped.null_element_count, 0) as null_element_count
from {{ ref('int_cases__scalars') }} as scalars
left join per_case
    on per_case.case_id = scalars.case_id
left join dropped
    on dropped.case_id = scalars.case_id
