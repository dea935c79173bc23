{#- One row per v1 public.case_rfi row. Rename, cast and clean only. -#}
{{ cases_entry_staging(source('supabase', 'case_rfi')) }}
