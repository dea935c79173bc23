{#- One row per public.case_rfi source row with its outcome (§4.1, §3.6): loaded (kept entry),
    excluded merged (duplicate entry) or owner_excluded (case excluded), rejected DQ-19a (no dates),
    DQ-06 (case_id matches no case) or the case's own DQ id (case rejected). -#}
{{ cases_entry_row_outcomes(
    'rfi', ref('stg_supabase__case_rfi'), ref('stg_supabase__case_rfi_source_rows'),
    ref('int_cases__ownership'), ref('int_cases__rfi_rfe_entries')) }}
