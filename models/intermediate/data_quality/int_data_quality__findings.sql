{#- One row per warning or info note of the data-quality report (§4.5), user side and case side, as text.
    A view: dq_warnings and dq_google_email_notify read it, so that no mart reads a mart. -#}
{{ config(materialized='view') }}

with

{{ union_as_text(
    {'int_users__findings': ref('int_users__findings'), 'int_cases__findings': ref('int_cases__findings')},
    ['dq_id', 'level', 'source_table', 'v1_id', 'case_legacy_id', 'owner_email', 'target_field',
     'original_value', 'resulting_value', 'message']
) }}

select * from final
