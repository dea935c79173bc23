{#- Warnings and info notes of the user side (§4.5): identity findings (DQ-01 duplicate groups, DQ-02, DQ-05,
    DQ-07, DQ-08, DQ-22 legacy and metadata JSON, DQ-27 text), timestamps that are not finite (DQ-16), profile findings
    (DQ-06 firm, DQ-13, DQ-14, DQ-22, DQ-26, DQ-28, DQ-29), superseded rows (DQ-11) and dismissed-deadline items
    (DQ-22, DQ-24). -#}
{%- set app_table = 'public.' ~ var('v1_user_table') -%}
with

identity_groups as (
    select * from {{ ref('int_users__identity_groups') }}
),

profiles as (
    select * from {{ ref('int_users__profiles') }}
),

app_users as (
    select * from {{ ref('stg_supabase__app_users') }}
),

auth_users as (
    select * from {{ ref('stg_supabase__auth_users') }}
),

auth_identities as (
    select * from {{ ref('stg_supabase__auth_identities') }}
),

settings as (
    select * from {{ ref('int_users__settings_resolved') }}
),

preferences as (
    select * from {{ ref('int_users__preferences_resolved') }}
),

dismissed_items as (
    select * from {{ ref('int_users__dismissed_deadline_items') }}
),

loaded_identities as (
    select
        identity_groups.*,
        case when identity_groups.app_user_id is not null then '{{ app_table }}' else 'auth.users' end as row_table,
        coalesce(identity_groups.app_user_id, identity_groups.auth_user_id) as row_id
    from identity_groups
    where identity_groups.identity_outcome = 'loaded'
),

duplicate_group_rows as (
    select identity_groups.*, '{{ app_table }}' as row_table, identity_groups.app_user_id as row_id, app_users.email_original
    from identity_groups
    inner join app_users on app_users.app_user_id = identity_groups.app_user_id
    where identity_groups.group_size > 1
    union all
    select identity_groups.*, 'auth.users', identity_groups.auth_user_id, auth_users.email_original
    from identity_groups
    inner join auth_users on auth_users.auth_user_id = identity_groups.auth_user_id
    where identity_groups.group_size > 1
),

profile_rows as (
    select
        profiles.*,
        case when profiles.app_user_id is not null then '{{ app_table }}' else 'auth.users' end as row_table,
        coalesce(profiles.app_user_id, profiles.auth_user_id) as row_id
    from profiles
),

identity_findings as (
    select {{ finding("'DQ-01'", "'info'", "'email'", 'group_rows.email_original', 'group_rows.identity_email',
        "group_rows.row_table || ' ' || group_rows.row_id || ': duplicate email ' || group_rows.identity_email || ': identity '
        || group_rows.identity_id || case when group_rows.is_winner then ' is the group winner' else ' merged into ' || group_rows.winner_identity_id end",
        source_table='group_rows.row_table', v1_id='group_rows.row_id', case_legacy_id='cast(null as varchar)',
        owner_email='group_rows.identity_email') }}
    from duplicate_group_rows as group_rows
    where group_rows.is_winner or group_rows.is_merged_loser
    union all
    select {{ finding("'DQ-02'", "'info'", "'legacyId'", 'null', 'null',
        "'auth.users ' || auth_user_id || ' has no app_users row: default profile'",
        source_table="'auth.users'", v1_id='auth_user_id', case_legacy_id='null', owner_email='identity_email') }}
    from loaded_identities where app_user_id is null
    union all
    select {{ finding("'DQ-05'", "'warning'", "'emailVerificationTime'", 'app_auth_user_id', 'null',
        "'" ~ app_table ~ " ' || app_user_id || ': auth_user_id ' || coalesce(app_auth_user_id, 'NULL')
        || case when app_auth_user_id is not null and legacy_auth_id is null
                then ' names an auth.users row linked to another " ~ app_table ~ " row' else ' links to no auth.users row' end",
        source_table="'" ~ app_table ~ "'", v1_id='app_user_id', case_legacy_id='null', owner_email='identity_email') }}
    from loaded_identities where auth_user_id is null
    union all
    select {{ finding("'DQ-07'", "'warning'", "'email'", 'app_email_norm', 'auth_email_norm',
        "'" ~ app_table ~ " ' || app_user_id || ': email ' || app_email_norm || ' differs from auth.users email ' || auth_email_norm || ' (auth email used)'",
        source_table="'" ~ app_table ~ "'", v1_id='app_user_id', case_legacy_id='null', owner_email='identity_email') }}
    from loaded_identities where secondary_email is not null
    union all
    select {{ finding("'DQ-08'", "'warning'", "'email'", 'app_users.google_email_norm', 'loaded_identities.identity_email',
        "'" ~ app_table ~ " ' || loaded_identities.app_user_id || ': google_email ' || app_users.google_email_norm
        || ' differs from the identity email ' || loaded_identities.identity_email || ': notify before cut-over'",
        source_table="'" ~ app_table ~ "'", v1_id='loaded_identities.app_user_id', case_legacy_id='null',
        owner_email='loaded_identities.identity_email') }}
    from loaded_identities
    inner join app_users on app_users.app_user_id = loaded_identities.app_user_id
    where app_users.google_email_norm is not null and app_users.google_email_norm <> loaded_identities.identity_email
    union all
    select {{ finding("'DQ-08'", "'warning'", "'email'", 'auth_identities.email_norm', 'loaded_identities.identity_email',
        "'auth.identities ' || auth_identities.identity_id || ': google email ' || auth_identities.email_norm
        || ' differs from the identity email ' || loaded_identities.identity_email || ': notify before cut-over'",
        source_table="'auth.identities'", v1_id='auth_identities.identity_id', case_legacy_id='null',
        owner_email='loaded_identities.identity_email') }}
    from loaded_identities
    inner join auth_identities on auth_identities.auth_user_id = loaded_identities.auth_user_id
    where auth_identities.provider = 'google'
      and auth_identities.email_norm is not null and auth_identities.email_norm <> loaded_identities.identity_email
),

source_text_findings as (
    {%- for column, label in [('notification_preferences', 'notification_preferences'), ('calendar_sync_preferences', 'calendar_sync_preferences')] %}
    select {{ finding("'DQ-22'",
        'case when app_users.is_' ~ column ~ '_invalid or app_users.is_' ~ column ~ "_wrong_shape then 'warning' else 'info' end",
        "'" ~ label ~ "'", 'cast(null as varchar)', 'cast(null as varchar)',
        "'" ~ app_table ~ " ' || loaded_identities.app_user_id || ': " ~ column ~ " '
        || case when app_users.is_" ~ column ~ "_invalid then 'is not valid JSON (ignored)'
                when app_users.is_" ~ column ~ "_wrong_shape then 'is not a JSON object (ignored)'
                else 'is double-encoded JSON (parsed)' end",
        source_table="'" ~ app_table ~ "'", v1_id='loaded_identities.app_user_id', case_legacy_id='cast(null as varchar)',
        owner_email='loaded_identities.identity_email') }}
    from loaded_identities
    inner join app_users on app_users.app_user_id = loaded_identities.app_user_id
    where app_users.is_{{ column }}_invalid or app_users.is_{{ column }}_wrong_shape or app_users.is_{{ column }}_double_encoded
    union all
    {%- endfor %}
    select {{ finding("'DQ-22'", "'warning'", 'auth_users.invalid_json_columns', 'null', 'null',
        "'auth.users ' || loaded_identities.auth_user_id || ': ' || auth_users.invalid_json_columns || ' is not valid JSON (ignored)'",
        source_table="'auth.users'", v1_id='loaded_identities.auth_user_id', case_legacy_id='null',
        owner_email='loaded_identities.identity_email') }}
    from loaded_identities
    inner join auth_users on auth_users.auth_user_id = loaded_identities.auth_user_id
    where auth_users.invalid_json_columns is not null
    union all
    select {{ finding("'DQ-27'", "'info'", 'app_users.dirty_text_columns', 'null', 'null',
        "'" ~ app_table ~ " ' || loaded_identities.app_user_id || ': control characters or surrounding whitespace removed from '
        || app_users.dirty_text_columns",
        source_table="'" ~ app_table ~ "'", v1_id='loaded_identities.app_user_id', case_legacy_id='null',
        owner_email='loaded_identities.identity_email') }}
    from loaded_identities
    inner join app_users on app_users.app_user_id = loaded_identities.app_user_id
    where app_users.dirty_text_columns is not null
    union all
    select {{ finding("'DQ-27'", "'info'", 'auth_users.dirty_text_columns', 'null', 'null',
        "'auth.users ' || loaded_identities.auth_user_id || ': control characters or surrounding whitespace removed from '
        || auth_users.dirty_text_columns",
        source_table="'auth.users'", v1_id='loaded_identities.auth_user_id', case_legacy_id='null',
        owner_email='loaded_identities.identity_email') }}
    from loaded_identities
    inner join auth_users on auth_users.auth_user_id = loaded_identities.auth_user_id
    where auth_users.dirty_text_columns is not null
),

{#- DQ-16: timestamps of loaded rows that are not finite (`infinity`, BC or 5-digit years), named with their
    original text; the field treats them as missing (DQ-28 fallbacks). #}
timestamp_findings as (
    {%- set checks = [
        ('app_users', 'app_user_id', app_table, 'created_at', 'createdAt', 'treated as missing'),
        ('app_users', 'app_user_id', app_table, 'updated_at', 'updatedAt', 'treated as missing'),
        ('app_users', 'app_user_id', app_table, 'deleted_at', 'deletedAt', 'the user is soft-deleted; deletedAt omitted'),
        ('auth_users', 'auth_user_id', 'auth.users', 'created_at', 'createdAt', 'treated as missing'),
        ('auth_users', 'auth_user_id', 'auth.users', 'email_confirmed_at', 'emailVerificationTime', 'treated as missing'),
        ('auth_users', 'auth_user_id', 'auth.users', 'deleted_at', 'deletedAt', 'the user is soft-deleted; deletedAt omitted')] %}
    {%- for relation, id_column, source_table, column, field, consequence in checks %}
    {{ 'union all' if not loop.first }}
    select {{ finding("'DQ-16'", "'warning'", "'" ~ field ~ "'", relation ~ '.' ~ column ~ '_unreadable', 'cast(null as varchar)',
        "'" ~ source_table ~ " ' || " ~ relation ~ "." ~ id_column ~ " || ': " ~ column ~ " ' || " ~ relation ~ "." ~ column ~ "_unreadable
        || ' is not a finite timestamp; " ~ consequence ~ "'",
        source_table="'" ~ source_table ~ "'", v1_id=relation ~ '.' ~ id_column, case_legacy_id='cast(null as varchar)',
        owner_email='loaded_identities.identity_email') }}
    from loaded_identities
    inner join {{ relation }} on {{ relation }}.{{ id_column }} = loaded_identities.{{ id_column }}
    where {{ relation }}.{{ column }}_unreadable is not null and not loaded_identities.is_merged_loser
    {%- endfor %}
    {%- for relation, id_column, source_table in [('settings', 'user_settings_id', 'public.user_settings'),
                                                  ('preferences', 'user_preferences_id', 'public.user_preferences')] %}
    union all
    select {{ finding("'DQ-16'", "'warning'", "'updatedAt'", 'updated_at_unreadable', 'null',
        "'" ~ source_table ~ " ' || " ~ id_column ~ " || ': updated_at ' || updated_at_unreadable || ' is not a finite timestamp; treated as missing'",
        source_table="'" ~ source_table ~ "'", v1_id=id_column, case_legacy_id='null', owner_email='group_email') }}
    from {{ relation }}
    where is_chosen and updated_at_unreadable is not null
    {%- endfor %}
),

superseded_findings as (
    {%- for relation, id_column, source_table in [('settings', 'user_settings_id', 'public.user_settings'),
                                                  ('preferences', 'user_preferences_id', 'public.user_preferences')] %}
    {{ 'union all' if not loop.first }}
    select {{ finding("'DQ-11'", "'warning'", 'null', 'null', 'null',
        "'" ~ source_table ~ " ' || " ~ id_column ~ " || ': superseded by a newer row of the same user'",
        source_table="'" ~ source_table ~ "'", v1_id=id_column, case_legacy_id='null', owner_email='group_email') }}
    from {{ relation }} where reason = 'superseded'
    {%- endfor %}
),

{#- Profile findings: row_table / row_id name the profile's source row unless the branch names another. #}
profile_findings as (
    select {{ finding("'DQ-06'", "'warning'", "'firmId'", 'firm_id_original', 'null',
        "row_table || ' ' || row_id || ': firm_id ' || firm_id_original || ' does not resolve to a loaded user (firmId omitted)'",
        source_table='row_table', v1_id='row_id', case_legacy_id='null', owner_email='group_email') }}
    from profile_rows where firm_id_original is not null and resolve_firm_email is null
    union all
    select {{ finding("'DQ-13'", "'warning'", "'userType'", 'user_type_original', 'user_type',
        "row_table || ' ' || row_id || ': unknown user_type ' || user_type_original",
        source_table='row_table', v1_id='row_id', case_legacy_id='null', owner_email='group_email') }}
    from profile_rows where is_user_type_unknown
    union all
    select {{ finding("'DQ-14'", "'warning'", "'preferredNotificationEmail'", 'preferred_notification_email_original', 'preferred_notification_email',
        "case when preferred_notification_email_source = 'public.user_settings'
             then 'public.user_settings ' || user_settings_id || ': preferred_notification_email'
             else row_table || ' ' || row_id || ': notification_email' end
        || ' is neither the signup nor the Google email (signup used)'",
        source_table="case when preferred_notification_email_source = 'public.user_settings' then 'public.user_settings' else row_table end",
        v1_id="case when preferred_notification_email_source = 'public.user_settings' then user_settings_id else row_id end",
        case_legacy_id='null', owner_email='group_email') }}
    from profile_rows where is_custom_notification_email
    union all
    select {{ finding('reminder_days_dq_id', "'warning'", "'reminderDaysBefore'", 'reminder_days_original', 'reminder_days_before',
        "'public.user_settings ' || user_settings_id || ': reminder_days_before normalised'",
        source_table="'public.user_settings'", v1_id='user_settings_id', case_legacy_id='null', owner_email='group_email') }}
    from profile_rows where reminder_days_dq_id is not null
    union all
    select {{ finding("'DQ-26'", "'warning'", "'urgentDeadlineDays'",
        'cast(urgent_deadline_days_original as varchar)', 'cast(urgent_deadline_days as varchar)',
        "row_table || ' ' || row_id || ': urgent_deadline_days outside 1-90'",
        source_table='row_table', v1_id='row_id', case_legacy_id='null', owner_email='group_email') }}
    from profile_rows where urgent_deadline_days_original is not null and urgent_deadline_days_original <> urgent_deadline_days
    {%- for side in ['start', 'end'] %}
    union all
    select {{ finding("'DQ-26'", "'warning'", "'quietHours" ~ side | capitalize ~ "'",
        'quiet_hours_' ~ side ~ '_original', 'quiet_hours_' ~ side,
        "'public.user_settings ' || user_settings_id || ': quiet_hours_" ~ side ~ " '
        || case when quiet_hours_" ~ side ~ " is null then 'invalid (omitted)' else 'has seconds (dropped)' end",
        source_table="'public.user_settings'", v1_id='user_settings_id', case_legacy_id='null', owner_email='group_email') }}
    from profile_rows
    where quiet_hours_{{ side }}_original is not null and (quiet_hours_{{ side }} is null or quiet_hours_{{ side }}_has_seconds)
    {%- endfor %}
    union all
    select {{ finding("'DQ-26'", "'warning'", "'quietHoursEnabled'", "'true'", "'false'",
        "'public.user_settings ' || user_settings_id || ': quiet hours enabled without a valid start and end'",
        source_table="'public.user_settings'", v1_id='user_settings_id', case_legacy_id='null', owner_email='group_email') }}
    from profile_rows where quiet_hours_enabled_original and not quiet_hours_enabled
    union all
    select {{ finding("'DQ-26'", "'warning'", "'timezone'", 'timezone_original', 'timezone',
        "'public.user_settings ' || user_settings_id || ': timezone is not an IANA name'",
        source_table="'public.user_settings'", v1_id='user_settings_id', case_legacy_id='null', owner_email='group_email') }}
    from profile_rows where timezone_original is not null and timezone_original <> timezone
    union all
    select {{ finding("'DQ-26'", "'warning'", "'casesSortBy'", 'cases_sort_by_original', 'cases_sort_by',
        "'public.user_preferences ' || user_preferences_id || ': unknown cases_sort_by'",
        source_table="'public.user_preferences'", v1_id='user_preferences_id', case_legacy_id='null', owner_email='group_email') }}
    from profile_rows where is_cases_sort_by_unknown
    union all
    select {{ finding("'DQ-26'", "'warning'", "'casesSortOrder'", 'cases_sort_order_original', 'cases_sort_order',
        "'public.user_preferences ' || user_preferences_id || ': unknown cases_sort_order'",
        source_table="'public.user_preferences'", v1_id='user_preferences_id', case_legacy_id='null', owner_email='group_email') }}
    from profile_rows where cases_sort_order_original is not null and lower(cases_sort_order_original) not in ('asc', 'desc')
    union all
    select {{ finding("'DQ-26'", "'warning'", "'casesPerPage'",
        'cast(cases_per_page_original as varchar)', 'cast(cases_per_page as varchar)',
        "'public.user_preferences ' || user_preferences_id || ': cases_per_page outside 6-50'",
        source_table="'public.user_preferences'", v1_id='user_preferences_id', case_legacy_id='null', owner_email='group_email') }}
    from profile_rows where cases_per_page_original is not null and cases_per_page_original <> cases_per_page
    union all
    select {{ finding("'DQ-28'", "'info'", "'createdAt'", 'null', 'cast(created_at as varchar)',
        "'" ~ app_table ~ " ' || app_user_id || ': created_at is NULL or not a finite timestamp'",
        source_table="'" ~ app_table ~ "'", v1_id='app_user_id', case_legacy_id='null', owner_email='group_email') }}
    from profile_rows where is_app_created_at_missing
    union all
    select {{ finding("'DQ-28'", "'info'", "'createdAt'", 'null', 'cast(created_at as varchar)',
        "'auth.users ' || auth_user_id || ': created_at is NULL or not a finite timestamp'",
        source_table="'auth.users'", v1_id='auth_user_id', case_legacy_id='null', owner_email='group_email') }}
    from profile_rows where is_auth_created_at_missing
    union all
    select {{ finding("'DQ-28'", "'info'", "'updatedAt'", 'cast(updated_at_source as varchar)', 'cast(updated_at as varchar)',
        "row_table || ' ' || row_id || ': updated_at before created_at: updatedAt = createdAt'",
        source_table='row_table', v1_id='row_id', case_legacy_id='null', owner_email='group_email') }}
    from profile_rows where updated_at_source < created_at
    union all
    select {{ finding("'DQ-29'", "'warning'", "'image'",
        "coalesce(
            case when " ~ is_supabase_storage_url('profile_photo_url_original') ~ " then profile_photo_url_original end,
            case when " ~ is_supabase_storage_url('meta_avatar_url_original') ~ " then meta_avatar_url_original end,
            meta_picture_original
        )",
        'image',
        "row_table || ' ' || row_id || ': Supabase Storage image URL skipped (re-upload in v2)'",
        source_table='row_table', v1_id='row_id', case_legacy_id='null', owner_email='group_email') }}
    from profile_rows where has_supabase_image
),

dismissed_lists as (
    select 'public.user_settings' as source_table, settings.user_settings_id as v1_id, settings.group_email,
        settings.dismissed_deadlines, settings.is_dismissed_deadlines_double_encoded
    from settings where settings.is_chosen
    union all
    select 'public.user_preferences', preferences.user_preferences_id, preferences.group_email,
        preferences.dismissed_deadlines, preferences.is_dismissed_deadlines_double_encoded
    from preferences where preferences.is_chosen
),

{#- Dismissed-deadline findings, named by the list's source row (source_table, v1_id). #}
dismissed_findings as (
    select {{ finding("'DQ-22'", "'warning'", "'dismissedDeadlines'", 'dismissed_deadlines', 'null',
        "source_table || ' ' || v1_id || ': dismissed_deadlines is not valid JSON (ignored)'",
        source_table='source_table', v1_id='v1_id', case_legacy_id='null', owner_email='group_email') }}
    from dismissed_lists where {{ json_is_invalid('dismissed_deadlines') }}
    union all
    select {{ finding("'DQ-22'", "'info'", "'dismissedDeadlines'", 'dismissed_deadlines', 'null',
        "source_table || ' ' || v1_id || ': dismissed_deadlines is double-encoded JSON (parsed)'",
        source_table='source_table', v1_id='v1_id', case_legacy_id='null', owner_email='group_email') }}
    from dismissed_lists where is_dismissed_deadlines_double_encoded
    union all
    select {{ finding("'DQ-22'", "'warning'", "'dismissedDeadlines'", 'dismissed_deadlines', 'null',
        "source_table || ' ' || v1_id || ': dismissed_deadlines is not an array (ignored)'",
        source_table='source_table', v1_id='v1_id', case_legacy_id='null', owner_email='group_email') }}
    from dismissed_lists
    where {{ json_kind(json_parse('dismissed_deadlines')) }} is not null and {{ json_kind(json_parse('dismissed_deadlines')) }} <> 'array'
    union all
    select {{ finding("case when drop_reason = 'null item' then 'DQ-22' else 'DQ-24' end",
        "case when drop_reason = 'null item' then 'info' else 'warning' end", "'dismissedDeadlines'", 'item_text', 'null',
        "source_table || ' ' || v1_id || ': dismissed deadline item ' || cast(item_index as varchar) || ' dropped: ' || drop_reason",
        source_table='source_table', v1_id='v1_id', case_legacy_id='null', owner_email='group_email') }}
    from dismissed_items where drop_reason is not null
    union all
    select {{ finding("'DQ-24'", "'warning'", "'dismissedDeadlines[].deadlineType'", 'deadline_type_original', 'deadline_type',
        "source_table || ' ' || v1_id || ': unknown dismissed deadline type ' || deadline_type_original || ' kept as is'",
        source_table='source_table', v1_id='v1_id', case_legacy_id='null', owner_email='group_email') }}
    from dismissed_items where drop_reason is null and is_deadline_type_unknown
    union all
    select {{ finding("'DQ-22'", "'warning'", "'dismissedDeadlines[].dismissedAt'", 'dismissed_at_original', 'cast(dismissed_at as varchar)',
        "source_table || ' ' || v1_id || ': invalid dismissed_at: profile updatedAt used'",
        source_table='source_table', v1_id='v1_id', case_legacy_id='null', owner_email='group_email') }}
    from dismissed_items where drop_reason is null and is_dismissed_at_invalid
    union all
    select {{ finding("'DQ-24'", "'info'", "'dismissedDeadlines'", 'item_text', 'null',
        "source_table || ' ' || v1_id || ': duplicate dismissed deadline ' || case_id || '/' || deadline_type || ' merged (earliest kept)'",
        source_table='source_table', v1_id='v1_id', case_legacy_id='null', owner_email='group_email') }}
    from dismissed_items where is_duplicate
),

all_findings as (
    select * from identity_findings
    union all
    select * from source_text_findings
    union all
    select * from timestamp_findings
    union all
    select * from superseded_findings
    union all
    select * from profile_findings
    union all
    select * from dismissed_findings
),

final as (
    select
        dq_id,
        level,
        source_table,
        v1_id,
        cast(null as varchar) as case_legacy_id,
        owner_email,
        target_field,
        original_value,
        resulting_value,
        message
    from all_findings
)

select * from final
