{#- One row per v1 public.case_rfe row. Rename, cast and clean only. -#}
{{ cases_entry_staging(source('supabase', 'case_rfe')) }}
