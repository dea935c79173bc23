"""Dirty v1 rows: one small scenario per source-data DQ id of MAPPING_SPEC §4.3.

Every scenario adds its own users/cases (the clean population stays clean) and records each
injected problem as {table, v1_id, field, detail[, case_legacy_id]} under its DQ id, so tests
can check that the transform reports every one of them. Deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal

from perm_rehearsal.demo_data.realistic import UTC, new_uuid, rng_for

# Problems the reference schema cannot hold; the named --variant changes the column type so they can.
NEEDS_VARIANT_SCHEMA = {
    "DQ-05": "app_users.auth_user_id NULL needs the NOT NULL dropped (a dangling auth_user_id is injected instead)",
    "DQ-09": "app_users.email NULL needs the NOT NULL dropped (empty and malformed app emails are injected instead)",
    "DQ-16": "text dates ('0000-00-00', '2024-02-30', '', ISO with a time part, slash dates) need the cases date "
             "columns typed text: --variant text-dates (always injected inside JSON members and as "
             "out-of-range DATE values)",
    "DQ-21": "3-decimal wages need pwd_wage_amount as unscaled numeric (--variant unscaled-wage) or text, and "
             "'$85,000' needs it as text (--variant text-wage); numeric(10,2) rounds on insert",
    "DQ-26": "quiet hours out of range ('25:00') need quiet_hours_* typed text; non-zero seconds are injected instead",
}
NOT_SOURCE_ROWS = {
    "DQ-10": "run level: public.users and public.perm_users both holding rows, or a missing v1_user_table "
             "(created by tests through the app_table option, not by row data)",
    "DQ-30": "target side: users/profiles already present in the Convex deployment",
}
SUPABASE_URL = "https://xyzcompany.supabase.co/storage/v1/object/public"
OVERSIZED_NOTES_BYTES = 1_000_000  # just under 1 MiB: over the 900 KiB document limit (DQ-27)


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


class DirtyData:
    """Builds the dirty rows and the injection report."""

    def __init__(self, seed: int, app_table: str, variants: tuple[str, ...] = ()):
        self.rng = rng_for(seed, "dirty", 0)
        self.variants = variants
        self.app_table = f"public.{app_table}"
        self.rows: dict[str, list[dict]] = defaultdict(list)
        self.injected: dict[str, list[dict]] = defaultdict(list)
        self.storage_forms: dict[str, list[str]] = defaultdict(list)
        self._n = 0
        self._entry_case: dict[str, str] = {}

    # ---- helpers -------------------------------------------------------------------------
    def mark(self, dq: str, table: str, v1_id: str, field: str, detail: str) -> None:
        """Record a problem; a case_rfi/case_rfe row also names its case (entry findings are case-level)."""
        item = {"table": table, "v1_id": v1_id, "field": field, "detail": detail}
        if v1_id in self._entry_case:
            item["case_legacy_id"] = self._entry_case[v1_id]
        self.injected[dq].append(item)

    def uid(self) -> str:
        return new_uuid(self.rng)

    def user(self, email: str | None, app_email: str | None = "same", auth: bool = True, app: bool = True,
             auth_extra: dict | None = None, app_extra: dict | None = None, settings: dict | None = None) -> dict:
        """An identity (auth row and/or app row, optional settings row); returns its ids."""
        self._n += 1
        created = _t("2023-03-01T10:00:00") + dt.timedelta(days=self._n)
        ids = {"auth": self.uid() if auth else None, "app": self.uid() if app else None}
        if auth:
            self.rows["auth.users"].append({
                "id": ids["auth"], "email": email, "email_confirmed_at": created + dt.timedelta(hours=1),
                "raw_app_meta_data": json.dumps({"provider": "email", "providers": ["email"]}),
                "raw_user_meta_data": json.dumps({"full_name": f"Dirty User {self._n}"}),
                "created_at": created, "updated_at": created, **(auth_extra or {}),
            })
        if app:
            self.rows["app"].append({
                "id": ids["app"], "auth_user_id": ids["auth"] or self.uid(),
                "email": email if app_email == "same" else app_email, "full_name": f"Dirty User {self._n}",
                "user_type": "individual", "created_at": created, "updated_at": created, **(app_extra or {}),
            })
        if settings is not None:
            ids["settings"] = self.uid()
            self.rows["public.user_settings"].append({
                "id": ids["settings"], "user_id": ids["app"] or ids["auth"], "created_at": created,
                "updated_at": created, **settings,
            })
        return ids

    def case(self, owner: str, **fields) -> str:
        """A valid recruitment-stage case for `owner` (a v1 user reference) with `fields` overriding."""
        cid = self.uid()
        self.rows["public.cases"].append({
            "id": cid, "user_id": owner, "employer_name": "Dirty Data Corp", "position_title": "QA Engineer",
            "beneficiary_identifier": f"BEN-{self.rng.getrandbits(32):08X}", "case_status": "Recruitment",
            "pwd_filing_date": _d("2024-05-01"), "pwd_determination_date": _d("2024-08-01"),
            "pwd_expiration_date": _d("2025-06-30"), "job_order_start_date": _d("2024-09-02"),
            "job_order_end_date": _d("2024-10-07"), "created_at": _t("2024-05-01T09:00:00"),
            "updated_at": _t("2024-10-08T09:00:00"), **fields,
        })
        return cid

    def rfx(self, kind: str, case_id: str, **fields) -> str:
        rid = self.uid()
        self._entry_case[rid] = case_id
        self.rows[f"public.case_{kind}"].append({
            "id": rid, "case_id": case_id, "title": f"{kind.upper()} item", "created_at": _t("2025-01-10T12:00:00"),
            "updated_at": _t("2025-01-10T12:00:00"), **fields,
        })
        return rid

    # ---- scenarios -------------------------------------------------------------------------
    def build(self) -> None:
        owner_ids = self.user("dirty.owner@example.com", settings={})
        owner = owner_ids["app"]
        self.identities(owner)
        self.profiles(owner, owner_ids["settings"])
        self.case_basics(owner)
        self.case_dates(owner)
        self.rfi_rfe(owner)
        self.collections(owner)
        self.variant_values(owner)

    def identities(self, owner: str) -> None:
        app = self.app_table
        a = self.user("Dana.Whitfield@Example.com", settings={})
        b = self.user(" dana.whitfield@example.com", app_extra={"updated_at": _t("2024-01-01T00:00:00")})
        for ids in (a, b):
            self.mark("DQ-01", app, ids["app"], "email", "emails differ only by case/whitespace")
            self.mark("DQ-01", "auth.users", ids["auth"], "email", "emails differ only by case/whitespace")
            self.case(ids["app"], employer_name="Whitfield Holdings")
        lone = self.user("auth.only@example.com", app=False)
        self.mark("DQ-02", "auth.users", lone["auth"], "id", "auth user without an app_users row")
        self.case(lone["auth"], employer_name="Referenced By Auth Id")
        gone = self.user("soft.deleted@example.com", app_extra={"deleted_at": _t("2025-02-01T00:00:00")})
        self.mark("DQ-03", app, gone["app"], "deleted_at", "soft-deleted app user")
        self.case(gone["app"], employer_name="Owner Soft Deleted")
        gone_auth = self.user("auth.deleted@example.com", auth_extra={"deleted_at": _t("2025-03-01T00:00:00")})
        self.mark("DQ-03", "auth.users", gone_auth["auth"], "deleted_at", "soft-deleted auth user")
        banned = self.user("banned.user@example.com", auth_extra={"banned_until": _t("2099-01-01T00:00:00")})
        self.mark("DQ-03", "auth.users", banned["auth"], "banned_until", "ban active at migration_as_of")
        anon = self.user("anonymous.7f3a@example.com", app=False, auth_extra={"is_anonymous": True})
        self.mark("DQ-03", "auth.users", anon["auth"], "is_anonymous", "anonymous auth user")
        dangling = self.user("no.auth.row@example.com", auth=False)
        self.mark("DQ-05", app, dangling["app"], "auth_user_id", "auth_user_id points at no auth.users row")
        firm = self.user("firm.member@example.com", app_extra={"user_type": "firm_member", "firm_id": self.uid()})
        self.mark("DQ-06", app, firm["app"], "firm_id", "firm_id matches no user")
        differ = self.user("kim.nguyen@example.com", app_email="k.nguyen@lawfirm.example")
        self.mark("DQ-07", app, differ["app"], "email", "app email differs from the auth email")
        google = self.user("lee.park@example.com", app_extra={"google_email": "lee.personal@gmail.com"})
        self.mark("DQ-08", app, google["app"], "google_email", "Google email differs from the identity email")
        identity = self.uid()
        self.rows["auth.identities"].append({
            "id": identity, "user_id": google["auth"], "provider": "google", "provider_id": "108234567890123456789",
            "identity_data": json.dumps({"email": "Lee.Other@gmail.com", "sub": "108234567890123456789"}),
            "created_at": _t("2024-02-01T00:00:00"), "updated_at": _t("2024-02-01T00:00:00"),
        })
        self.mark("DQ-08", "auth.identities", identity, "identity_data", "google identity email differs")
        no_email = self.user(None, app=False)
        self.mark("DQ-09", "auth.users", no_email["auth"], "email", "NULL email, no app row")
        bad = self.user("", app_email="not-an-email")
        self.mark("DQ-09", app, bad["app"], "email", "malformed app email and empty auth email")
        self.case(bad["app"], employer_name="Owner Without Email")
        blank = self.user(None, app_email="   ")
        self.mark("DQ-09", app, blank["app"], "email", "blank app email and NULL auth email")
        for table in ("public.cases", "public.user_settings", "public.user_preferences"):
            unknown = self.uid()
            if table == "public.cases":
                row_id = self.case(unknown, employer_name="Orphan Case")
            else:
                row_id = self.uid()
                self.rows[table].append({"id": row_id, "user_id": unknown, "created_at": _t("2024-06-01T00:00:00"),
                                         "updated_at": _t("2024-06-01T00:00:00")})
            self.mark("DQ-06", table, row_id, "user_id", "user_id matches no user")
        for kind in ("rfi", "rfe"):
            rid = self.rfx(kind, self.uid(), received_date=_d("2025-01-02"), response_due_date=_d("2025-02-01"))
            self.mark("DQ-06", f"public.case_{kind}", rid, "case_id", "case_id matches no case")
        clash = self.user("Hidden.Photo@example.com ", app_extra={
            "profile_photo_url": f"{SUPABASE_URL}/avatars/u1.png", "full_name": "  \tRuth\x07 Okoro\x1f  ",
            "updated_at": _t("2022-01-01T00:00:00"), "user_type": "superuser", "urgent_deadline_days": 0,
            "notification_preferences": json.dumps(json.dumps({"email_enabled": False})),
            "calendar_sync_preferences": json.dumps(["sync_rfi_deadlines"]),
        }, auth_extra={"created_at": None})
        self.mark("DQ-29", app, clash["app"], "profile_photo_url", "Supabase Storage avatar URL")
        self.mark("DQ-27", app, clash["app"], "full_name", "control characters and surrounding whitespace")
        self.mark("DQ-28", app, clash["app"], "updated_at", "updated_at before created_at")
        self.mark("DQ-28", "auth.users", clash["auth"], "created_at", "NULL created_at")
        self.mark("DQ-13", app, clash["app"], "user_type", "unknown user_type 'superuser'")
        self.mark("DQ-26", app, clash["app"], "urgent_deadline_days", "urgent_deadline_days 0 (outside 1-90)")
        self.mark("DQ-22", app, clash["app"], "notification_preferences", "double-encoded JSON object")
        self.mark("DQ-22", app, clash["app"], "calendar_sync_preferences", "array instead of an object")

    def profiles(self, owner: str, owner_settings: str) -> None:
        user = self.user("settings.mess@example.com")
        base = {"user_id": user["app"], "created_at": _t("2024-01-01T00:00:00")}
        old, new = self.uid(), self.uid()
        self.rows["public.user_settings"] += [
            {**base, "id": old, "updated_at": _t("2024-02-01T00:00:00")},
            {**base, "id": new, "updated_at": _t("2024-09-01T00:00:00"), "timezone": "Mars/Olympus_Mons",
             "quiet_hours_enabled": True, "quiet_hours_start": dt.time(22, 0, 30), "quiet_hours_end": dt.time(6, 0),
             "reminder_days_before": [0, -1, 400, 7, 7], "preferred_notification_email": "someone.else@example.org",
             "dismissed_deadlines": None},
        ]
        self.mark("DQ-11", "public.user_settings", old, "user_id", "second settings row for the same user (older)")
        self.mark("DQ-26", "public.user_settings", new, "timezone", "invalid IANA time zone")
        self.mark("DQ-26", "public.user_settings", new, "quiet_hours_start", "quiet hours with non-zero seconds")
        self.mark("DQ-26", "public.user_settings", new, "reminder_days_before", "values <= 0, > 365 and duplicated")
        self.mark("DQ-14", "public.user_settings", new, "preferred_notification_email", "address of nobody")
        p_old, p_new = self.uid(), self.uid()
        self.rows["public.user_preferences"] += [
            {**base, "id": p_old, "updated_at": _t("2024-03-01T00:00:00")},
            {**base, "id": p_new, "updated_at": _t("2024-10-01T00:00:00"), "cases_per_page": 500,
             "cases_sort_by": "favourite_colour", "cases_sort_order": "sideways"},
        ]
        self.mark("DQ-11", "public.user_preferences", p_old, "user_id", "second preferences row (older)")
        self.mark("DQ-26", "public.user_preferences", p_new, "cases_per_page", "500 (outside 6-50)")
        self.mark("DQ-26", "public.user_preferences", p_new, "cases_sort_by", "unknown sort column")
        self.mark("DQ-26", "public.user_preferences", p_new, "cases_sort_order", "unknown sort order")
        # DQ-24 / DQ-22: dismissed deadlines of the owner pointing at deleted, foreign, unknown cases.
        deleted = self.case(owner, deleted_at=_t("2025-04-01T00:00:00"), employer_name="Deleted Case Inc.")
        self.mark("DQ-04", "public.cases", deleted, "deleted_at", "soft-deleted case")
        rfi = self.rfx("rfi", deleted, received_date=_d("2025-01-05"), response_due_date=_d("2025-02-04"))
        self.storage_forms["case_rfi_of_deleted_case"].append(rfi)
        foreign = self.case(user["app"], employer_name="Someone Else's Case")
        mine = self.case(owner, employer_name="Dismissals Target")
        settings_id = self.uid()
        items = [
            {"case_id": deleted, "deadline_type": "pwd_expiration", "dismissed_at": "2025-04-02T10:00:00Z"},
            {"case_id": foreign, "deadline_type": "rfi_due", "dismissed_at": "2025-04-02T10:00:00Z"},
            {"case_id": self.uid(), "deadline_type": "rfe_due", "dismissed_at": 1743588000000},
            {"deadline_type": "pwd_expiration"},
            42,
            {"case_id": mine, "deadline_type": "coffee_break", "dismissed_at": "yesterday"},
            f"{mine}:rfi_response",
            None,
        ]
        self.rows["public.user_settings"].append({
            "id": settings_id, "user_id": owner, "created_at": _t("2024-01-01T00:00:00"),
            "updated_at": _t("2025-05-01T00:00:00"), "dismissed_deadlines": json.dumps(json.dumps(items)),
        })
        for detail in ("item for a soft-deleted case", "item for another user's case", "item for an unknown case",
                       "object without case_id", "unparseable item (number)", "unknown deadline type"):
            self.mark("DQ-24", "public.user_settings", settings_id, "dismissed_deadlines", detail)
        self.mark("DQ-22", "public.user_settings", settings_id, "dismissed_deadlines", "double-encoded JSON array")
        self.mark("DQ-22", "public.user_settings", settings_id, "dismissed_deadlines", "null element in the array")
        self.mark("DQ-11", "public.user_settings", owner_settings, "user_id", "owner has two settings rows (this one older)")

    def case_basics(self, owner: str) -> None:
        c = self.case(owner, employer_name="", position_title="   ")
        self.mark("DQ-12", "public.cases", c, "employer_name", "empty employer name")
        self.mark("DQ-12", "public.cases", c, "position_title", "blank position title")
        c = self.case(owner, case_status="pending_review")
        self.mark("DQ-15", "public.cases", c, "case_status", "unknown status 'pending_review'")
        c = self.case(owner, progress_status="Waiting on client ☕", priority_level="super-high",
                      pwd_wage_level="Level 7", job_order_state="ZZ", i140_category="EB-5")
        for field in ("progress_status", "priority_level", "pwd_wage_level", "job_order_state", "i140_category"):
            self.mark("DQ-15", "public.cases", c, field, "unknown enumerated value")
        for wage, detail in ((Decimal("-5.00"), "negative wage"), (Decimal("0.00"), "zero wage"),
                             (Decimal("12.50"), "implausible (hourly rate on an annual field)"),
                             (Decimal("25000000.00"), "implausible (over 10,000,000)")):
            c = self.case(owner, pwd_wage_amount=wage)
            self.mark("DQ-21", "public.cases", c, "pwd_wage_amount", detail)
        c = self.case(owner, recruitment_applicants_count=-3)
        self.mark("DQ-21", "public.cases", c, "recruitment_applicants_count", "negative applicant count")
        for _ in range(2):
            c = self.case(owner, employer_name="  twin employer llc ", beneficiary_identifier="BEN-TWIN0001")
            self.mark("DQ-25", "public.cases", c, "employer_name", "same employer and beneficiary")
        for _ in range(2):
            c = self.case(owner, case_number="PERM-DUP-0001")
            self.mark("DQ-25", "public.cases", c, "case_number", "same case_number")
        c = self.case(owner, employer_name=" Control\x01Chars\x0b Inc. ", notes="x" * OVERSIZED_NOTES_BYTES)
        self.mark("DQ-27", "public.cases", c, "employer_name", "control characters and whitespace")
        self.mark("DQ-27", "public.cases", c, "notes", "oversized notes (~1 MiB): document over 900 KiB")
        c = self.case(owner, created_at=None, updated_at=None)
        self.mark("DQ-28", "public.cases", c, "created_at", "NULL created_at and updated_at")
        c = self.case(owner, created_at=_t("2024-06-01T00:00:00"), updated_at=_t("2024-01-01T00:00:00"))
        self.mark("DQ-28", "public.cases", c, "updated_at", "updated_at before created_at")

    def case_dates(self, owner: str) -> None:
        c = self.case(owner, pwd_filing_date=_d("1899-12-31"), i140_approval_date=_d("2150-06-01"))
        self.mark("DQ-16", "public.cases", c, "pwd_filing_date", "year before 1990")
        self.mark("DQ-16", "public.cases", c, "i140_approval_date", "year after 2100")
        rules = (
            ({"sunday_ad_first_date": _d("2024-09-03"), "sunday_ad_second_date": _d("2024-09-15")},
             "sunday_ad_first_date", "V-REC-01: first Sunday ad on a Tuesday"),
            ({"sunday_ad_first_date": _d("2024-09-08"), "sunday_ad_second_date": _d("2024-09-14")},
             "sunday_ad_second_date", "V-REC-02: second Sunday ad on a Saturday"),
            ({"sunday_ad_first_date": _d("2024-09-15"), "sunday_ad_second_date": _d("2024-09-08")},
             "sunday_ad_second_date", "V-REC-03: second ad not after the first"),
            ({"job_order_start_date": _d("2024-09-02"), "job_order_end_date": _d("2024-09-20")},
             "job_order_end_date", "V-REC-05: job order shorter than 30 days"),
            ({"job_order_start_date": _d("2024-09-02"), "job_order_end_date": _d("2024-09-01")},
             "job_order_end_date", "V-REC-04: job order end before start"),
            ({"notice_of_filing_start_date": _d("2024-09-02"), "notice_of_filing_end_date": _d("2024-09-09")},
             "notice_of_filing_end_date", "V-REC-07: notice shorter than 10 business days"),
            ({"notice_of_filing_start_date": _d("2024-09-02")},
             "notice_of_filing_end_date", "V-REC-08: notice start without end (filled, info)"),
            ({"notice_of_filing_end_date": _d("2024-09-20")},
             "notice_of_filing_start_date", "V-REC-09: notice end without start"),
            ({"eta9089_filing_date": _d("2024-12-01"), "eta9089_certification_date": _d("2024-11-01"),
              "eta9089_expiration_date": _d("2025-04-30")},
             "eta9089_certification_date", "V-ETA-04: certification not after filing"),
            ({"eta9089_filing_date": _d("2024-11-10"), "eta9089_certification_date": _d("2025-03-01"),
              "eta9089_expiration_date": _d("2025-08-28"), "i140_filing_date": _d("2025-02-01")},
             "i140_filing_date", "V-I140-01: I-140 filed before certification"),
        )
        for fields, field, detail in rules:
            c = self.case(owner, **fields)
            self.mark("DQ-17", "public.cases", c, field, detail)
        c = self.case(owner, pwd_determination_date=_d("2024-08-01"), pwd_expiration_date=_d("2025-01-31"))
        self.mark("DQ-20", "public.cases", c, "pwd_expiration_date", "differs from the 20 CFR 656.40(c) formula")
        c = self.case(owner, eta9089_filing_date=_d("2024-11-10"), eta9089_certification_date=_d("2025-03-01"),
                      eta9089_expiration_date=_d("2025-12-31"))
        self.mark("DQ-20", "public.cases", c, "eta9089_expiration_date", "differs from certification + 180")
        c = self.case(owner, pwd_determination_date=None, pwd_expiration_date=_d("2025-06-30"))
        self.mark("DQ-20", "public.cases", c, "pwd_expiration_date", "expiration without determination date")
        future = {"pwd_filing_date": _d("2026-09-01"), "pwd_determination_date": None, "pwd_expiration_date": None,
                  "job_order_start_date": None, "job_order_end_date": None, "case_status": "PWD"}
        c = self.case(owner, **future)
        self.mark("DQ-32", "public.cases", c, "pwd_filing_date", "future date (after migration_as_of)")

    def rfi_rfe(self, owner: str) -> None:
        eta = {"eta9089_filing_date": _d("2024-11-10"), "case_status": "ETA 9089 Filed"}
        c = self.case(owner, **eta, rfi_received_date=_d("2025-01-10"), rfi_response_due_date=_d("2025-02-15"))
        self.mark("DQ-18", "public.cases", c, "rfi_response_due_date", "legacy RFI due date != received + 30")
        self.storage_forms["legacy_columns"].append(c)
        c = self.case(owner, **eta)
        rid = self.rfx("rfi", c, received_date=_d("2025-01-10"), response_due_date=_d("2025-02-20"))
        self.mark("DQ-18", "public.case_rfi", rid, "response_due_date", "table RFI due date != received + 30")
        self.storage_forms["case_rfi"].append(rid)
        rid = self.rfx("rfi", c, received_date=None, response_due_date=_d("2025-03-01"))
        self.mark("DQ-19a", "public.case_rfi", rid, "received_date", "due date without received date")
        rid = self.rfx("rfi", c, received_date=None, response_due_date=None)
        self.mark("DQ-19a", "public.case_rfi", rid, "received_date", "neither received nor due date (row rejected)")
        c = self.case(owner, **eta)
        for day in ("2025-01-10", "2025-02-10"):
            received = _d(day)
            rid = self.rfx("rfi", c, received_date=received, response_due_date=received + dt.timedelta(days=30))
            self.mark("DQ-19b", "public.case_rfi", rid, "response_submitted_date", "two active RFI entries")
        c = self.case(owner, **eta, rfi_list=json.dumps([
            {"title": "Early RFI", "received_date": "2024-11-01", "response_due_date": "2024-12-01"}]))
        self.mark("DQ-19c", "public.cases", c, "rfi_list", "RFI received before the ETA 9089 filing date")
        self.storage_forms["rfi_list"].append(c)
        i140 = {**eta, "eta9089_certification_date": _d("2025-03-01"), "eta9089_expiration_date": _d("2025-08-28"),
                "i140_filing_date": _d("2025-04-01"), "case_status": "I-140 Filed"}
        rid = self.rfx("rfe", self.case(owner, **i140), received_date=_d("2025-03-15"),
                       response_due_date=_d("2025-06-10"))
        self.mark("DQ-19c", "public.case_rfe", rid, "received_date", "RFE received before the I-140 filing date")
        self.storage_forms["case_rfe"].append(rid)
        c = self.case(owner, **i140, rfe_list=json.dumps([
            {"title": "USCIS RFE", "received_date": "2025-05-01", "response_submitted_date": None}, None]))
        self.mark("DQ-19a", "public.cases", c, "rfe_list", "RFE list item without a due date")
        self.mark("DQ-22", "public.cases", c, "rfe_list", "null element in the array")
        self.storage_forms["rfe_list"].append(c)
        c = self.case(owner, **i140, rfe_received_date=_d("2025-05-02"), rfe_response_due_date=_d("2025-07-28"),
                      rfe_notes="Legacy RFE notes")
        self.storage_forms["legacy_columns"].append(c)
        c = self.case(owner, **eta, rfi_list=json.dumps([
            {"title": "Bad date", "received_date": "2024-02-30", "response_due_date": "2024-03-30"},
            {"title": "With time", "received_date": "2025-03-01T23:30:00-05:00", "response_due_date": "2025-03-31"}]))
        self.mark("DQ-16", "public.cases", c, "rfi_list", "impossible date 2024-02-30 in a list item")
        self.mark("DQ-16", "public.cases", c, "rfi_list", "ISO date with a time part that would shift the day")
        c = self.case(owner, **eta, rfi_list=json.dumps(json.dumps([
            {"title": "DOL RFI", "received_date": "2025-01-20", "response_due_date": "2025-02-19"}])))
        self.rfx("rfi", c, title="dol rfi ", received_date=_d("2025-01-20"), response_due_date=_d("2025-02-19"))
        self.mark("DQ-22", "public.cases", c, "rfi_list", "double-encoded JSON array")
        self.mark("DQ-22", "public.cases", c, "rfi_list", "duplicate of a case_rfi row (same received date and title)")
        closed = {**eta, "case_status": "Closed", "rfi_received_date": _d("2025-11-20"),
                  "rfi_response_due_date": _d("2025-12-20")}
        c = self.case(owner, **closed)
        self.mark("DQ-31", "public.cases", c, "case_status", "closed case with an active RFI")

    def collections(self, owner: str) -> None:
        pro = {"is_professional_occupation": True}
        shapes = {
            "a": [{"method": "local_newspaper", "date": "2024-09-10", "description": "Metro weekly"},
                  {"method": "Job Fair", "date": "2024-09-20", "description": "Tech fair"}],
            "b": [{"type": "Radio Advertisement", "dates": ["2024-09-05", "2024-09-12"], "outlet": "KXYZ"},
                  {"type": "employer_website", "date": "2024-09-03", "outlet": "careers page"}],
            "c": ["Job Fair", "employee_referral"],
        }
        for shape, methods in shapes.items():
            c = self.case(owner, **pro, additional_recruitment_methods=json.dumps(methods))
            self.storage_forms[f"method_shape_{shape}"].append(c)
        self.mark("DQ-23", "public.cases", c, "additional_recruitment_methods", "shape (c): strings without dates")
        problems = (
            ([{"method": "job_fair"}, {"type": "radio_ad", "dates": []}], "methods without dates"),
            ([{"method": m, "date": "2024-09-1" + str(i)} for i, m in enumerate(
                ("job_fair", "radio_ad", "tv_ad", "employee_referral"))], "more than 3 items"),
            ([{"method": "job_fair", "date": "2024-09-10"}, {"method": "Job Fair", "date": "2024-09-11"}],
             "duplicate methods"),
            ([{"method": "Carrier pigeon", "date": "2024-09-10"}], "unknown label"),
            ([42, {"description": "no method, no date"}, {"method": "job_fair", "date": "03/15/2024"}],
             "dropped elements and an unparseable date"),
        )
        for methods, detail in problems:
            c = self.case(owner, **pro, additional_recruitment_methods=json.dumps(methods))
            self.mark("DQ-23", "public.cases", c, "additional_recruitment_methods", detail)
        c = self.case(owner, is_professional_occupation=False, additional_recruitment_methods=json.dumps(
            [{"method": "job_fair", "date": "2024-09-10"}]))
        self.mark("DQ-23", "public.cases", c, "additional_recruitment_methods", "methods on a non-professional case")
        c = self.case(owner, **pro, additional_recruitment_methods=json.dumps(json.dumps(shapes["a"])))
        self.mark("DQ-22", "public.cases", c, "additional_recruitment_methods", "double-encoded JSON array")
        c = self.case(owner, documents=json.dumps({"id": "d1", "name": "not-a-list.pdf"}),
                      calendar_event_ids=json.dumps(["evt1", "evt2"]))
        self.mark("DQ-22", "public.cases", c, "documents", "object instead of an array")
        self.mark("DQ-22", "public.cases", c, "calendar_event_ids", "array instead of an object")
        c = self.case(owner, documents=json.dumps([
            {"id": "d2", "name": "offer.pdf", "url": f"{SUPABASE_URL}/documents/offer.pdf", "size": 12034,
             "mimeType": "application/pdf", "uploadedAt": "2024-09-01T10:00:00Z", "category": "offer"}]),
            rfi_documents=json.dumps([{"id": "d3", "name": "rfi.pdf", "type": "pdf",
                                       "url": f"{SUPABASE_URL}/documents/rfi.pdf", "uploaded_at": "2025-01-11"}]))
        self.mark("DQ-29", "public.cases", c, "documents", "document on Supabase Storage")
        self.mark("DQ-29", "public.cases", c, "rfi_documents", "RFI document on Supabase Storage")

    def variant_values(self, owner: str) -> None:
        """Values only a variant schema can hold (see NEEDS_VARIANT_SCHEMA)."""
        if "text-dates" in self.variants:
            for column, value, detail in (
                    ("pwd_filing_date", "0000-00-00", "zero date"),
                    ("pwd_determination_date", "2024-02-30", "impossible date"),
                    ("job_order_start_date", "", "empty string"),
                    ("eta9089_filing_date", "2024-11-10T23:30:00-05:00", "ISO with a time part (day must not shift)"),
                    ("i140_filing_date", "03/15/2025", "slash date: order never guessed")):
                c = self.case(owner, **{column: value})
                self.mark("DQ-16", "public.cases", c, column, f"text date: {detail}")
        wages = []
        if "text-wage" in self.variants:
            wages += [("$85,000", "text wage with $ and thousands separator"), ("85000.125", "3 decimals (text)"),
                      ("eighty thousand", "non-numeric text")]
        if "unscaled-wage" in self.variants:
            wages += [(Decimal("85000.125"), "3 decimals (unscaled numeric)")]
        for value, detail in wages:
            c = self.case(owner, pwd_wage_amount=value)
            self.mark("DQ-21", "public.cases", c, "pwd_wage_amount", detail)

    def report(self) -> dict[str, list[dict]]:
        """DQ id -> injected problems, ids in a stable order."""
        return {dq: self.injected[dq] for dq in sorted(self.injected, key=lambda d: (int(d[3:5]), d))}
