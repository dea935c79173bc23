{#- One row per public.case_rfe source row with its outcome (§4.1, §3.6): loaded (kept entry),
    excluded merged (duplicate entry) or owner_excluded (case excluded), rejected DQ-19a (no dates),
    DQ-06 (case_id matches no case) or the case's own DQ id (case rejected). -#}
{{ cases_entry_row_outcomes(
    'rfe', ref('stg_supabase__case_rfe'), ref('stg_supabase__case_rfe_source_rows'),
    ref('int_cases__ownership'), ref('int_cases__rfi_rfe_entries')) }}
