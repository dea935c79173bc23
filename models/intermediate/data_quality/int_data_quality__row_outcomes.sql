{#- One row per extracted source row of every reconciled table (§4.1): the union of the outcomes models of
    both sides, as text. A view: dq_row_outcomes, dq_rejects, dq_exclusions and dq_reconciliation read it,
    so that no mart reads a mart. -#}
{{ config(materialized='view') }}

with

{{ union_as_text(
    {'int_users__auth_user_outcomes': ref('int_users__auth_user_outcomes'),
     'int_users__app_user_outcomes': ref('int_users__app_user_outcomes'),
     'int_users__setting_outcomes': ref('int_users__setting_outcomes'),
     'int_users__preference_outcomes': ref('int_users__preference_outcomes'),
     'int_cases__outcomes': ref('int_cases__outcomes'),
     'int_cases__rfi_outcomes': ref('int_cases__rfi_outcomes'),
     'int_cases__rfe_outcomes': ref('int_cases__rfe_outcomes')},
    ['source_table', 'v1_id', 'outcome', 'reason', 'dq_id', 'field', 'value', 'message', 'source_row']
) }}

select * from final
