{#- One row per extracted source row of every reconciled table (§4.1): the union of the int_outcomes__* models. -#}
with

{{ union_as_text(
    ['int_outcomes__auth_users', 'int_outcomes__app_users', 'int_outcomes__user_settings',
     'int_outcomes__user_preferences', 'int_outcomes__cases', 'int_outcomes__case_rfi', 'int_outcomes__case_rfe'],
    ['source_table', 'v1_id', 'outcome', 'reason', 'dq_id', 'field', 'value', 'message', 'source_row']
) }}

select * from final
