-- Reference v1 source schema (MAPPING_SPEC §1), PostgreSQL 15.
--
-- Two parts, applied in order by loader/reference_schema.py:
--   1. tables: columns, defaults, PRIMARY KEY / UNIQUE / NOT NULL (enforced), indexes;
--   2. constraints (after the marker line below): FOREIGN KEY and CHECK constraints declared
--      NOT VALID, added after the data load, as in a legacy database whose constraints arrived
--      after its data. Rows loaded before them may violate them (this is how DQ scenarios exist).
-- The app user table is written as `public.users` (constraint/index names prefixed `users_`);
-- the loader renames both for the `perm_users` variant (MAPPING_SPEC §1.4, `v1_user_table`).

-- ==== tables ====
CREATE SCHEMA IF NOT EXISTS auth;

CREATE TABLE auth.users (
    id                 uuid         NOT NULL,
    email              varchar(255),
    encrypted_password varchar(255),
    email_confirmed_at timestamptz,
    last_sign_in_at    timestamptz,
    raw_app_meta_data  jsonb,
    raw_user_meta_data jsonb,
    phone              text         DEFAULT NULL,
    created_at         timestamptz,
    updated_at         timestamptz,
    banned_until       timestamptz,
    deleted_at         timestamptz,
    is_anonymous       boolean      NOT NULL DEFAULT false,
    is_sso_user        boolean      NOT NULL DEFAULT false,
    CONSTRAINT auth_users_pkey PRIMARY KEY (id),
    CONSTRAINT auth_users_phone_key UNIQUE (phone)
);
CREATE UNIQUE INDEX auth_users_email_partial_key ON auth.users (email) WHERE is_sso_user = false;

CREATE TABLE auth.identities (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id       uuid        NOT NULL,
    provider      text        NOT NULL,
    provider_id   text        NOT NULL,
    identity_data jsonb       NOT NULL,
    email         text        GENERATED ALWAYS AS (lower(identity_data ->> 'email')) STORED,
    created_at    timestamptz,
    updated_at    timestamptz,
    CONSTRAINT auth_identities_pkey PRIMARY KEY (id),
    CONSTRAINT auth_identities_provider_id_provider_key UNIQUE (provider_id, provider)
);

CREATE TABLE public.users (
    id                            uuid         NOT NULL DEFAULT gen_random_uuid(),
    auth_user_id                  uuid         NOT NULL,
    email                         varchar(255) NOT NULL,
    full_name                     text,
    phone                         text,
    job_title                     text,
    company                       text,
    profile_photo_url             text,
    user_type                     varchar(20)  NOT NULL DEFAULT 'individual',
    firm_id                       uuid,
    firm_name                     text,
    oauth_provider                text,
    last_login_at                 timestamptz,
    notification_preferences      jsonb,
    notification_email            text,
    notification_sms              boolean      NOT NULL DEFAULT false,
    notification_push             boolean      NOT NULL DEFAULT true,
    urgent_deadline_days          integer      NOT NULL DEFAULT 7,
    privacy_mode_enabled          boolean      NOT NULL DEFAULT false,
    calendar_sync_enabled         boolean      NOT NULL DEFAULT true,
    calendar_sync_preferences     jsonb,
    calendar_sync_pwd             boolean      NOT NULL DEFAULT true,
    calendar_sync_eta9089         boolean      NOT NULL DEFAULT true,
    calendar_sync_i140            boolean      NOT NULL DEFAULT true,
    calendar_sync_rfe             boolean      NOT NULL DEFAULT true,
    calendar_sync_rfi             boolean      NOT NULL DEFAULT true,
    calendar_sync_recruitment     boolean      NOT NULL DEFAULT true,
    calendar_sync_filing_window   boolean      NOT NULL DEFAULT true,
    google_email                  text,
    google_refresh_token          text,
    google_access_token           text,
    google_calendar_refresh_token text,
    google_token_expiry           timestamptz,
    google_scopes                 text[],
    google_calendar_connected     boolean      DEFAULT false,
    gmail_connected               boolean      DEFAULT false,
    calendar_connected            boolean      DEFAULT false,
    calendar_last_synced_at       timestamptz,
    created_at                    timestamptz  DEFAULT now(),
    updated_at                    timestamptz  DEFAULT now(),
    deleted_at                    timestamptz,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_auth_user_id_key UNIQUE (auth_user_id)
);
CREATE INDEX users_firm_id_idx ON public.users (firm_id);

CREATE TABLE public.user_settings (
    id                           uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id                      uuid        NOT NULL,
    email_notifications_enabled  boolean     NOT NULL DEFAULT true,
    email_deadline_reminders     boolean     DEFAULT true,
    email_status_updates         boolean     DEFAULT true,
    email_rfe_alerts             boolean     DEFAULT true,
    reminder_days_before         integer[]   DEFAULT '{1,3,7,14,30}',
    quiet_hours_enabled          boolean     DEFAULT false,
    quiet_hours_start            time,
    quiet_hours_end              time,
    timezone                     text        NOT NULL DEFAULT 'America/New_York',
    preferred_notification_email text        DEFAULT 'signup',
    dismissed_deadlines          jsonb       DEFAULT '[]',
    created_at                   timestamptz DEFAULT now(),
    updated_at                   timestamptz DEFAULT now(),
    CONSTRAINT user_settings_pkey PRIMARY KEY (id)
);
CREATE INDEX user_settings_user_id_idx ON public.user_settings (user_id);

CREATE TABLE public.user_preferences (
    id                  uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id             uuid        NOT NULL,
    cases_sort_by       text        NOT NULL DEFAULT 'created_at',
    cases_sort_order    text        DEFAULT 'desc',
    cases_per_page      integer     DEFAULT 25,
    dismissed_deadlines jsonb       DEFAULT '[]',
    created_at          timestamptz DEFAULT now(),
    updated_at          timestamptz DEFAULT now(),
    CONSTRAINT user_preferences_pkey PRIMARY KEY (id)
);
CREATE INDEX user_preferences_user_id_idx ON public.user_preferences (user_id);

CREATE TABLE public.cases (
    id                                uuid         NOT NULL DEFAULT gen_random_uuid(),
    user_id                           uuid         NOT NULL,
    case_number                       varchar(100),
    internal_case_number              text,
    employer_name                     varchar(255) NOT NULL,
    employer_fein                     text,
    beneficiary_identifier            varchar(100),
    position_title                    varchar(255) NOT NULL,
    job_title                         text,
    soc_code                          text,
    soc_title                         text,
    job_order_state                   varchar(2),
    case_status                       varchar(30)  NOT NULL DEFAULT 'PWD',
    progress_status                   text,
    progress_status_override          boolean      DEFAULT false,
    priority_level                    text         DEFAULT 'normal',
    is_favorite                       boolean      NOT NULL DEFAULT false,
    is_professional_occupation        boolean      NOT NULL DEFAULT false,
    calendar_sync_enabled             boolean      NOT NULL DEFAULT true,
    pwd_filing_date                   date,
    pwd_determination_date            date,
    pwd_expiration_date               date,
    pwd_case_number                   text,
    pwd_wage_amount                   numeric(10,2),
    pwd_wage_level                    text,
    job_order_start_date              date,
    job_order_end_date                date,
    sunday_ad_first_date              date,
    sunday_ad_second_date             date,
    sunday_ad_newspaper               varchar(255),
    notice_of_filing_start_date       date,
    notice_of_filing_end_date         date,
    additional_recruitment_start_date date,
    additional_recruitment_end_date   date,
    additional_recruitment_methods    jsonb        DEFAULT '[]',
    recruitment_notes                 text,
    recruitment_applicants_count      integer      NOT NULL DEFAULT 0,
    recruitment_summary_custom        text,
    eta9089_filing_date               date,
    eta9089_audit_date                date,
    eta9089_certification_date        date,
    eta9089_expiration_date           date,
    eta9089_case_number               varchar(100),
    rfi_received_date                 date,
    rfi_response_due_date             date,
    rfi_response_submitted_date       date,
    rfe_received_date                 date,
    rfe_response_due_date             date,
    rfe_response_submitted_date       date,
    rfi_list                          jsonb        DEFAULT '[]',
    rfe_list                          jsonb        DEFAULT '[]',
    rfi_notes                         text,
    rfe_notes                         text,
    rfi_documents                     jsonb,
    rfe_documents                     jsonb,
    i140_filing_date                  date,
    i140_receipt_date                 date,
    i140_approval_date                date,
    i140_denial_date                  date,
    i140_receipt_number               varchar(100),
    i140_category                     text,
    i140_service_center               text,
    i140_premium_processing           boolean,
    notes                             text,
    tags                              text[]       DEFAULT '{}',
    documents                         jsonb        DEFAULT '[]',
    calendar_event_ids                jsonb        DEFAULT '{}',
    calendar_last_synced_at           timestamptz,
    created_at                        timestamptz  DEFAULT now(),
    updated_at                        timestamptz  DEFAULT now(),
    deleted_at                        timestamptz,
    CONSTRAINT cases_pkey PRIMARY KEY (id)
);
CREATE INDEX cases_user_id_idx ON public.cases (user_id);
CREATE INDEX cases_user_id_case_status_idx ON public.cases (user_id, case_status);
CREATE INDEX cases_user_id_is_favorite_idx ON public.cases (user_id, is_favorite);
CREATE INDEX cases_user_id_priority_level_idx ON public.cases (user_id, priority_level);
CREATE INDEX cases_deleted_at_idx ON public.cases (deleted_at);

CREATE TABLE public.case_rfi (
    id                      uuid        NOT NULL DEFAULT gen_random_uuid(),
    case_id                 uuid        NOT NULL,
    title                   text,
    description             text,
    received_date           date,
    response_due_date       date,
    response_submitted_date date,
    notes                   text,
    created_at              timestamptz DEFAULT now(),
    updated_at              timestamptz DEFAULT now(),
    CONSTRAINT case_rfi_pkey PRIMARY KEY (id)
);
CREATE INDEX case_rfi_case_id_idx ON public.case_rfi (case_id);

CREATE TABLE public.case_rfe (
    id                      uuid        NOT NULL DEFAULT gen_random_uuid(),
    case_id                 uuid        NOT NULL,
    title                   text,
    description             text,
    received_date           date,
    response_due_date       date,
    response_submitted_date date,
    notes                   text,
    created_at              timestamptz DEFAULT now(),
    updated_at              timestamptz DEFAULT now(),
    CONSTRAINT case_rfe_pkey PRIMARY KEY (id)
);
CREATE INDEX case_rfe_case_id_idx ON public.case_rfe (case_id);

-- ==== constraints ====
ALTER TABLE auth.identities
    ADD CONSTRAINT auth_identities_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES auth.users (id) ON DELETE CASCADE NOT VALID;

ALTER TABLE public.users
    ADD CONSTRAINT users_auth_user_id_fkey FOREIGN KEY (auth_user_id)
        REFERENCES auth.users (id) ON DELETE CASCADE NOT VALID,
    ADD CONSTRAINT users_firm_id_fkey FOREIGN KEY (firm_id)
        REFERENCES public.users (id) ON DELETE SET NULL NOT VALID,
    ADD CONSTRAINT users_user_type_check
        CHECK (user_type IN ('individual', 'firm_admin', 'firm_member')) NOT VALID;

ALTER TABLE public.user_settings
    ADD CONSTRAINT user_settings_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES public.users (id) ON DELETE CASCADE NOT VALID,
    ADD CONSTRAINT user_settings_preferred_notification_email_check
        CHECK (preferred_notification_email IN ('signup', 'google', 'both')) NOT VALID;

ALTER TABLE public.user_preferences
    ADD CONSTRAINT user_preferences_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES public.users (id) ON DELETE CASCADE NOT VALID,
    ADD CONSTRAINT user_preferences_cases_sort_order_check
        CHECK (cases_sort_order IN ('asc', 'desc')) NOT VALID;

ALTER TABLE public.cases
    ADD CONSTRAINT cases_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES public.users (id) ON DELETE CASCADE NOT VALID,
    ADD CONSTRAINT cases_case_status_check CHECK (case_status IN (
        'PWD', 'PWD Approved', 'Recruitment', 'ETA 9089 Prep', 'ETA 9089 Filed', 'ETA 9089 Audit',
        'ETA 9089 Certified', 'I-140 Prep', 'I-140 Filed', 'I-140 Approved', 'Complete', 'Closed',
        'Withdrawn', 'Denied')) NOT VALID,
    ADD CONSTRAINT cases_priority_level_check
        CHECK (priority_level IN ('low', 'normal', 'high', 'urgent')) NOT VALID;

ALTER TABLE public.case_rfi
    ADD CONSTRAINT case_rfi_case_id_fkey FOREIGN KEY (case_id)
        REFERENCES public.cases (id) ON DELETE CASCADE NOT VALID;

ALTER TABLE public.case_rfe
    ADD CONSTRAINT case_rfe_case_id_fkey FOREIGN KEY (case_id)
        REFERENCES public.cases (id) ON DELETE CASCADE NOT VALID;
