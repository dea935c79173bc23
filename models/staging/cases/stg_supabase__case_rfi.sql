{#- One row per v1 public.case_rfi row. Rename, cast and clean only. -#}
{{ cases_entry_staging('case_rfi') }}
