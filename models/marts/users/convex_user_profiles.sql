{#- One row per user group: the v2 `userProfiles` document (MAPPING_SPEC §2.3, §3.3). NULL = omit;
    userId and firmId are filled by the loader from the resolve_* keys. -#}
with

profiles as (
    select * from {{ ref('int_users__profiles') }}
),

dismissed_deadlines as (
    select * from {{ ref('int_users__dismissed_deadlines') }}
),

final as (
    select
        cast(profiles.legacy_id as text) as "legacyId",
        cast(profiles.legacy_auth_id as text) as "legacyAuthId",
        cast(profiles.full_name as text) as "fullName",
        cast(profiles.job_title as text) as "jobTitle",
        cast(profiles.company as text) as "company",
        cast(profiles.profile_photo_url as text) as "profilePhotoUrl",
        cast(profiles.user_type as text) as "userType",
        cast(profiles.firm_name as text) as "firmName",
        profiles.email_notifications_enabled as "emailNotificationsEnabled",
        profiles.sms_notifications_enabled as "smsNotificationsEnabled",
        false as "pushNotificationsEnabled",
        cast(profiles.urgent_deadline_days as bigint) as "urgentDeadlineDays",
        cast(profiles.reminder_days_before as text) as "reminderDaysBefore",
        profiles.email_deadline_reminders as "emailDeadlineReminders",
        profiles.email_status_updates as "emailStatusUpdates",
        profiles.email_rfe_alerts as "emailRfeAlerts",
        cast(profiles.preferred_notification_email as text) as "preferredNotificationEmail",
        profiles.quiet_hours_enabled as "quietHoursEnabled",
        cast(profiles.quiet_hours_start as text) as "quietHoursStart",
        cast(profiles.quiet_hours_end as text) as "quietHoursEnd",
        cast(profiles.timezone as text) as "timezone",
        profiles.calendar_sync_enabled as "calendarSyncEnabled",
        profiles.calendar_sync_pwd as "calendarSyncPwd",
        profiles.calendar_sync_eta9089 as "calendarSyncEta9089",
        profiles.calendar_sync_i140 as "calendarSyncI140",
        profiles.calendar_sync_rfe as "calendarSyncRfe",
        profiles.calendar_sync_rfi as "calendarSyncRfi",
        profiles.calendar_sync_recruitment as "calendarSyncRecruitment",
        profiles.calendar_sync_filing_window as "calendarSyncFilingWindow",
        false as "googleCalendarConnected",
        false as "gmailConnected",
        cast(profiles.cases_sort_by as text) as "casesSortBy",
        cast(profiles.cases_sort_order as text) as "casesSortOrder",
        cast(profiles.cases_per_page as bigint) as "casesPerPage",
        cast(coalesce(dismissed_deadlines.dismissed_deadlines_json, '[]') as text) as "dismissedDeadlines",
        false as "darkModeEnabled",
        profiles.privacy_mode_enabled as "privacyModeEnabled",
        false as "autoDeadlineEnforcementEnabled",
        cast('done' as text) as "onboardingStep",
        {{ as_of_ms() }} as "onboardingCompletedAt",
        cast(profiles.created_at as bigint) as "createdAt",
        cast(profiles.updated_at as bigint) as "updatedAt",
        cast(profiles.deleted_at as bigint) as "deletedAt",
        cast(profiles.group_email as text) as resolve_owner_email,
        cast(profiles.resolve_firm_email as text) as resolve_firm_email,
        cast(
            '[{"v1_table":"' || case when profiles.app_user_id is not null then 'app_users' else 'auth.users' end
            || '","v1_uuid":' || {{ json_string('coalesce(profiles.app_user_id, profiles.auth_user_id)') }} || ',"merged":false}'
            || coalesce(',{"v1_table":"user_settings","v1_uuid":' || {{ json_string('profiles.user_settings_id') }}
                || ',"merged":false}', '')
            || coalesce(',{"v1_table":"user_preferences","v1_uuid":' || {{ json_string('profiles.user_preferences_id') }}
                || ',"merged":false}', '')
            || ']'
        as text) as resolve_v1_rows
    from profiles
    left join dismissed_deadlines on dismissed_deadlines.group_email = profiles.group_email
)

select * from final
