{#- Select-list of one data-quality finding (warning or info note, MAPPING_SPEC §4.3) in the layout of
    docs/INTERFACES.md §4: dq_id, level, source_table, v1_id, case_legacy_id, owner_email, target_field,
    original_value, resulting_value, message. Every argument is a SQL expression (quote literals:
    `"'DQ-15'"`), so that every branch of a findings union has the same columns in the same order. -#}
{% macro finding(dq_id, level, target_field, original_value, resulting_value, message,
                 source_table="'public.cases'", v1_id='case_id', case_legacy_id='case_id', owner_email='owner_email') -%}
{{ dq_id }} as dq_id, {{ level }} as level, {{ source_table }} as source_table, {{ v1_id }} as v1_id,
        {{ case_legacy_id }} as case_legacy_id, {{ owner_email }} as owner_email, {{ target_field }} as target_field,
        {{ original_value }} as original_value, {{ resulting_value }} as resulting_value, {{ message }} as message
{%- endmacro %}
