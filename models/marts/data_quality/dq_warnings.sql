{#- One row per warning or info note of the data-quality report (§4.5), user side and case side. -#}
with

{{ union_as_text(
    ['int_users__findings', 'int_cases__findings'],
    ['dq_id', 'level', 'source_table', 'v1_id', 'case_legacy_id', 'owner_email', 'target_field',
     'original_value', 'resulting_value', 'message']
) }}

select * from final
