"""Realistic, clean v1 rows: users with settings, and PERM cases at every stage.

Every entity draws from its own RNG seeded by `(seed, kind, index)`, so any row can be rebuilt
on its own (no table held in memory) and the same seed always gives identical rows. Times come
from the fixed `BASE_DATE`; the clock is never read.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from decimal import Decimal

BASE_DATE = dt.date(2025, 12, 15)  # "today" of the generated data; all clean dates are on or before it
UTC = dt.timezone.utc

FIRST_NAMES = ("Ana", "Bilal", "Chen", "Deepa", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal",
               "Keiko", "Luis", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rahul", "Sofia", "Tomas",
               "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zara")
LAST_NAMES = ("Alvarez", "Banerjee", "Choi", "Dubois", "Eriksen", "Fernandes", "Gupta", "Hassan",
              "Ivanova", "Jensen", "Kowalski", "Liu", "Morales", "Nakamura", "Okafor", "Patel",
              "Quintero", "Rossi", "Schmidt", "Tanaka", "Usman", "Vargas", "Wang", "Yilmaz", "Zhou")
DOMAINS = ("example.com", "lawfirm.example", "immigration.example", "mail.example.org")
FIRMS = ("Harbor Immigration LLP", "Keystone Visa Partners", "Northgate Law Group", "Summit PERM Counsel")
EMPLOYERS = ("Acme Robotics Inc.", "BlueRiver Analytics LLC", "Cobalt Health Systems", "Delta Semiconductors",
             "Evergreen Biotech", "Fulcrum Software Corp.", "Granite Logistics", "Helios Energy Partners",
             "Ironwood Financial", "Juniper Learning Co.", "Kestrel Aerospace", "Lumen Data Labs")
POSITIONS = (("Software Engineer", "15-1252", "Software Developers"),
             ("Data Scientist", "15-2051", "Data Scientists"),
             ("Mechanical Engineer", "17-2141", "Mechanical Engineers"),
             ("Financial Analyst", "13-2051", "Financial and Investment Analysts"),
             ("Registered Nurse", "29-1141", "Registered Nurses"),
             ("Civil Engineer", "17-2051", "Civil Engineers"),
             ("Operations Research Analyst", "15-2031", "Operations Research Analysts"),
             ("Physical Therapist", "29-1123", "Physical Therapists"))
STATES = ("CA", "NY", "TX", "WA", "MA", "IL", "NJ", "GA", "VA", "NC", "FL", "PA", "MI", "CO", "DC")
NEWSPAPERS = ("The Daily Ledger", "Metro Sunday Herald", "Valley Tribune", "Capital City Times")
SERVICE_CENTERS = ("Nebraska Service Center", "Texas Service Center", "California Service Center")
TIMEZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix")
PROGRESS = ("Working on it", "Waiting for intake", "Filed", "Approved", "Under review", "Pending documents",
            "Pending signatures", "Waiting Period", "in_progress", "pending")
METHOD_LABELS = ("local_newspaper", "Radio Advertisement", "job_fair", "Campus Placement Office",
                 "Trade/Professional Organization", "employee_referral", "Employer's Website",
                 "Job Website (Indeed, Monster, etc.)", "On-campus recruiting", "private_employment_firm")
SORT_COLUMNS = ("created_at", "updated_at", "employer_name", "priority_level", "case_status", "next_deadline")

# Stages in pipeline order: (name, weight, v1 case_status choices)
STAGES = (
    ("pwd", 10, ("PWD", "PWD", "pwd_filed")),
    ("pwd_approved", 6, ("PWD Approved", "pwd_received")),
    ("recruitment", 14, ("Recruitment", "Recruitment", "recruitment_completed")),
    ("eta_filed", 12, ("ETA 9089 Filed", "ETA 9089 Prep", "eta9089_filed")),
    ("eta_audit", 3, ("ETA 9089 Audit",)),
    ("rfi", 5, ("ETA 9089 Filed",)),
    ("eta_certified", 10, ("ETA 9089 Certified", "certified")),
    ("i140_filed", 12, ("I-140 Filed", "I-140 Prep", "i140_filed")),
    ("rfe", 5, ("RFE", "I-140 Filed")),
    ("i140_approved", 13, ("I-140 Approved", "Complete", "i140_approved")),
    ("closed", 10, ("Closed", "Withdrawn", "Denied", "archived")),
)
_STAGE_NAMES = tuple(s[0] for s in STAGES)
_STAGE_WEIGHTS = tuple(s[1] for s in STAGES)
_STAGE_STATUSES = {s[0]: s[2] for s in STAGES}


def rng_for(seed: int, kind: str, index: int) -> random.Random:
    """The RNG of one entity (string seeds hash with SHA-512: stable across processes)."""
    return random.Random(f"{seed}/{kind}/{index}")


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def ts(day: dt.date, rng: random.Random) -> dt.datetime:
    """A UTC timestamp on `day` with a random time of day (microsecond precision)."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC) + dt.timedelta(
        microseconds=rng.randrange(86_400 * 10**6)
    )


def pwd_expiration(determination: dt.date) -> dt.date:
    """20 CFR 656.40(c), MAPPING_SPEC §3.9.2."""
    if dt.date(determination.year, 4, 2) <= determination <= dt.date(determination.year, 6, 30):
        return determination + dt.timedelta(days=90)
    if determination >= dt.date(determination.year, 7, 1):
        return dt.date(determination.year + 1, 6, 30)
    return dt.date(determination.year, 6, 30)


def next_sunday(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(6 - day.weekday()) % 7)


def user_ids(seed: int, index: int) -> tuple[str, str]:
    """(auth user id, app user id) of clean user `index`; every tenth app row reuses the auth id (L2)."""
    rng = rng_for(seed, "user-id", index)
    auth_id = new_uuid(rng)
    return auth_id, (auth_id if index % 10 == 7 else new_uuid(rng))


def case_id(seed: int, index: int) -> str:
    return new_uuid(rng_for(seed, "case-id", index))


def case_owner(index: int, n_users: int) -> int:
    return index % n_users


def user_rows(seed: int, index: int, n_users: int, n_cases: int) -> dict[str, list[dict]]:
    """The rows of clean user `index`: auth.users, auth.identities, app user, settings, preferences."""
    rng = rng_for(seed, "user", index)
    auth_id, app_id = user_ids(seed, index)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{first}.{last}.{index}@{rng.choice(DOMAINS)}".lower()
    google = rng.random() < 0.25
    created = ts(BASE_DATE - dt.timedelta(days=rng.randrange(200, 2400)), rng)
    updated = created + dt.timedelta(days=rng.randrange(0, 150), seconds=rng.randrange(86_400))
    provider = "google" if google else "email"
    auth = {
        "id": auth_id, "email": email,
        "encrypted_password": None if google else "$2a$10$" + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789./", k=53)),
        "email_confirmed_at": created + dt.timedelta(minutes=rng.randrange(1, 600)),
        "last_sign_in_at": updated + dt.timedelta(days=rng.randrange(0, 60)),
        "raw_app_meta_data": json.dumps({"provider": provider, "providers": [provider]}),
        "raw_user_meta_data": json.dumps({"full_name": f"{first} {last}"} if not google else
                                         {"name": f"{first} {last}", "picture": f"https://lh3.googleusercontent.com/a/{index:08x}"}),
        "phone": f"+1555{index:07d}" if rng.random() < 0.3 else None,
        "created_at": created, "updated_at": updated,
    }
    identities = [{
        "id": new_uuid(rng), "user_id": auth_id, "provider": provider,
        "provider_id": str(rng.randrange(10**20, 10**21)) if google else auth_id,
        "identity_data": json.dumps({"email": email, "sub": auth_id}), "created_at": created, "updated_at": created,
    }]
    role = index % 10
    user_type = "firm_admin" if role == 0 else "firm_member" if role in (1, 2) else rng.choice(
        ("individual",) * 6 + ("attorney", "paralegal"))
    firm_admin_index = index - role
    app = {
        "id": app_id, "auth_user_id": auth_id, "email": email, "full_name": f"{first} {last}",
        "phone": auth["phone"], "job_title": rng.choice(("Immigration Attorney", "Paralegal", "HR Manager", None)),
        "company": rng.choice(FIRMS), "user_type": user_type,
        "profile_photo_url": rng.choice((None, None, f"https://cdn.example.com/avatars/{index}.png")),
        "firm_id": user_ids(seed, firm_admin_index)[1] if role in (1, 2) and firm_admin_index != index else None,
        "firm_name": rng.choice(FIRMS) if role in (0, 1, 2) else None,
        "oauth_provider": "google" if google else None,
        "last_login_at": auth["last_sign_in_at"],
        "notification_preferences": json.dumps({"email_enabled": True, "deadline_reminders": True,
                                                "status_updates": rng.random() < 0.8, "rfe_alerts": True}),
        "notification_email": email if rng.random() < 0.2 else None,
        "notification_sms": rng.random() < 0.1, "urgent_deadline_days": rng.choice((7, 7, 7, 3, 14, 30)),
        "privacy_mode_enabled": rng.random() < 0.1, "calendar_sync_enabled": rng.random() < 0.85,
        "calendar_sync_preferences": json.dumps({"sync_recruitment": True, "sync_filing_windows": True,
                                                 "sync_rfi_deadlines": rng.random() < 0.9}),
        "calendar_sync_rfi": rng.random() < 0.9,
        "google_email": f"{first}.{last}.{index}@gmail.com".lower() if google else None,
        "google_refresh_token": f"gAAAAAB{rng.getrandbits(256):064x}" if google else None,
        "google_access_token": f"ya29.{rng.getrandbits(192):048x}" if google else None,
        "google_scopes": ["https://www.googleapis.com/auth/calendar"] if google else None,
        "google_calendar_connected": google, "calendar_connected": google,
        "created_at": created, "updated_at": updated,
    }
    rows: dict[str, list[dict]] = {"auth.users": [auth], "auth.identities": identities, "app": [app],
                                   "public.user_settings": [], "public.user_preferences": []}
    own_case = case_id(seed, index) if index < n_cases else None
    dismissed = json.dumps([{"case_id": own_case, "deadline_type": rng.choice(("pwd_expiration", "rfi_due")),
                             "dismissed_at": (updated + dt.timedelta(days=3)).isoformat()}]) if own_case and rng.random() < 0.2 else "[]"
    if rng.random() < 0.9:
        quiet = rng.random() < 0.2
        rows["public.user_settings"].append({
            "id": new_uuid(rng), "user_id": app_id, "email_notifications_enabled": rng.random() < 0.95,
            "email_deadline_reminders": True, "email_status_updates": rng.random() < 0.8, "email_rfe_alerts": True,
            "reminder_days_before": rng.choice(([1, 3, 7, 14, 30], [7, 14, 30], [1, 7])),
            "quiet_hours_enabled": quiet, "quiet_hours_start": dt.time(22, 0) if quiet else None,
            "quiet_hours_end": dt.time(7, 0) if quiet else None, "timezone": rng.choice(TIMEZONES),
            "preferred_notification_email": "both" if google and rng.random() < 0.5 else "signup",
            "dismissed_deadlines": dismissed, "created_at": created, "updated_at": updated,
        })
    if rng.random() < 0.8:
        rows["public.user_preferences"].append({
            "id": new_uuid(rng), "user_id": app_id if rng.random() < 0.9 else auth_id,
            "cases_sort_by": rng.choice(SORT_COLUMNS), "cases_sort_order": rng.choice(("asc", "desc")),
            "cases_per_page": rng.choice((10, 25, 25, 50)), "dismissed_deadlines": "[]",
            "created_at": created, "updated_at": updated,
        })
    return rows


def _methods(rng: random.Random, start: dt.date, end: dt.date) -> list:
    """Additional recruitment methods in v1 shape (a) or (b) of §1.9 (shape (c) is in the dirty set)."""
    labels = rng.sample(METHOD_LABELS, 3)
    days = [start + dt.timedelta(days=rng.randrange(0, max(1, (end - start).days))) for _ in labels]
    shape = rng.choice("aab")
    if shape == "a":
        return [{"method": m, "date": d.isoformat(), "description": f"Posted: {m}"} for m, d in zip(labels, days)]
    items = []
    for m, d in zip(labels, days):
        if "radio" in m.lower():
            items.append({"type": m, "dates": [d.isoformat(), (d + dt.timedelta(days=2)).isoformat()], "outlet": "KXYZ 101.5"})
        else:
            items.append({"type": m, "date": d.isoformat(), "outlet": rng.choice(NEWSPAPERS)})
    return items


def _entry(rng, received: dt.date, due: dt.date, resolved: bool, title: str) -> dict:
    submitted = received + dt.timedelta(days=rng.randrange(5, 25)) if resolved else None
    return {"title": title, "received": received, "due": due, "submitted": submitted,
            "description": f"{title}: requested additional documentation", "notes": None}


def case_rows(seed: int, index: int, n_users: int) -> dict[str, list[dict]]:
    """Clean case `index` (owner `index % n_users`) and its case_rfi/case_rfe rows.

    The timeline is moved back a year at a time until its last date is on or before BASE_DATE.
    """
    years_back = 0
    while True:
        rows, last = _case(seed, index, n_users, years_back)
        if last <= BASE_DATE:
            return rows
        years_back += 1


def _case(seed: int, index: int, n_users: int, years_back: int) -> tuple[dict[str, list[dict]], dt.date]:
    rng = rng_for(seed, "case", index)
    stage = rng.choices(_STAGE_NAMES, _STAGE_WEIGHTS)[0]
    level = _STAGE_NAMES.index(stage)
    terminal = stage == "closed"
    if terminal:
        level = rng.randrange(0, _STAGE_NAMES.index("i140_approved"))
    reached = lambda name: level >= _STAGE_NAMES.index(name)  # noqa: E731

    # Day offsets relative to the PWD determination date (placed in July-November: long validity).
    det_to_jo = rng.randrange(7, 30)
    jo_len = rng.randrange(30, 41)
    eta_wait = rng.randrange(32, 60)
    cert_after = rng.randrange(120, 400)
    i140_after = rng.randrange(20, 150)
    span = det_to_jo + jo_len + 25 + eta_wait + cert_after + i140_after + 320
    latest_year = (BASE_DATE - dt.timedelta(days=span)).year
    year = (latest_year - rng.randrange(0, 3) if reached("eta_certified") else BASE_DATE.year - 1) - years_back
    determination = dt.date(year, rng.randrange(7, 12), rng.randrange(1, 29))
    filing = determination - dt.timedelta(days=rng.randrange(60, 180))
    if stage == "pwd":
        filing = BASE_DATE - dt.timedelta(days=rng.randrange(5, 120))
    owner = case_owner(index, n_users)
    _, owner_app_id = user_ids(seed, owner)
    position, soc, soc_title = rng.choice(POSITIONS)
    created = ts(filing - dt.timedelta(days=rng.randrange(0, 20)), rng)
    professional = rng.random() < 0.6
    cid = case_id(seed, index)
    row = {
        "id": cid, "user_id": owner_app_id,
        "case_number": f"PERM-{filing.year}-{index:06d}" if rng.random() < 0.7 else None,
        "internal_case_number": f"INT-{index:07d}" if rng.random() < 0.4 else None,
        "employer_name": rng.choice(EMPLOYERS), "employer_fein": f"{rng.randrange(10, 99)}-{rng.randrange(10**6, 10**7)}",
        "beneficiary_identifier": f"BEN-{rng.getrandbits(32):08X}", "position_title": position,
        "job_title": position, "soc_code": soc, "soc_title": soc_title, "job_order_state": rng.choice(STATES),
        "case_status": rng.choice(_STAGE_STATUSES[stage]),
        "progress_status": rng.choice(PROGRESS) if rng.random() < 0.6 else None,
        "priority_level": rng.choice(("low", "normal", "normal", "normal", "high", "urgent")),
        "is_favorite": rng.random() < 0.15, "is_professional_occupation": professional,
        "pwd_filing_date": filing, "pwd_case_number": f"P-100-{filing:%y}{rng.randrange(10**5, 10**6)}",
        "pwd_wage_level": rng.choice(("I", "II", "III", "IV", "II", "III", "Level II", "3")),
        "notes": rng.choice((None, "Client prefers email contact.", "Awaiting updated job description.\nFollow up Monday.",
                             json.dumps([{"id": f"note-{index}-1", "content": "Intake call done", "createdAt": created.isoformat(),
                                         "status": "done"}]))),
        "tags": rng.choice(([], ["priority"], ["h1b-extension", "remote"], ["family"])),
        "documents": json.dumps([{"id": f"doc-{index}", "name": "job_description.pdf", "type": "pdf",
                                  "url": f"https://files.example.com/cases/{cid}/job_description.pdf",
                                  "uploaded_at": created.isoformat()}]) if rng.random() < 0.1 else "[]",
        "calendar_event_ids": "{}", "created_at": created,
    }
    entries = {"rfi": [], "rfe": []}
    last = filing
    if reached("pwd_approved"):
        row["pwd_determination_date"] = determination
        row["pwd_expiration_date"] = pwd_expiration(determination)
        row["pwd_wage_amount"] = Decimal(rng.randrange(5_500_000, 22_000_000, 100)) / 100
        last = determination
        if row["pwd_expiration_date"] <= BASE_DATE or rng.random() < 0.5:
            row["calendar_event_ids"] = json.dumps({"pwd_expiration": f"evt{rng.getrandbits(64):016x}"})
    if reached("recruitment"):
        jo_start = determination + dt.timedelta(days=det_to_jo)
        jo_end = jo_start + dt.timedelta(days=jo_len)
        ad1 = next_sunday(jo_start + dt.timedelta(days=rng.randrange(0, 8)))
        nof_start = jo_start + dt.timedelta(days=rng.randrange(0, 5))
        row.update({
            "job_order_start_date": jo_start, "job_order_end_date": jo_end,
            "sunday_ad_first_date": ad1, "sunday_ad_second_date": ad1 + dt.timedelta(days=7),
            "sunday_ad_newspaper": rng.choice(NEWSPAPERS),
            "notice_of_filing_start_date": nof_start, "notice_of_filing_end_date": nof_start + dt.timedelta(days=18),
            "recruitment_applicants_count": rng.randrange(0, 12),
        })
        last = max(jo_end, ad1 + dt.timedelta(days=7), nof_start + dt.timedelta(days=18))
        if professional:
            methods = _methods(rng, jo_start, jo_end)
            row["additional_recruitment_methods"] = json.dumps(methods)
            row["additional_recruitment_start_date"] = jo_start
            row["additional_recruitment_end_date"] = jo_end
    if reached("eta_filed"):
        eta_filed = last + dt.timedelta(days=eta_wait)
        row["eta9089_filing_date"] = eta_filed
        row["eta9089_case_number"] = f"G-100-{eta_filed:%y}{rng.randrange(10**6, 10**7)}"
        last = eta_filed
        if stage == "eta_audit" or (reached("eta_certified") and rng.random() < 0.1):
            row["eta9089_audit_date"] = eta_filed + dt.timedelta(days=rng.randrange(30, 90))
        if stage == "rfi" or (reached("eta_certified") and rng.random() < 0.15):
            received = eta_filed + dt.timedelta(days=rng.randrange(45, 100))
            entries["rfi"].append(_entry(rng, received, received + dt.timedelta(days=30), stage != "rfi", "DOL RFI"))
            last = received
    if reached("eta_certified"):
        cert = last + dt.timedelta(days=cert_after)
        row["eta9089_certification_date"] = cert
        row["eta9089_expiration_date"] = cert + dt.timedelta(days=180)
        last = cert
    if reached("i140_filed"):
        i140 = last + dt.timedelta(days=i140_after)
        row.update({"i140_filing_date": i140, "i140_receipt_date": i140 + dt.timedelta(days=rng.randrange(7, 21)),
                    "i140_receipt_number": f"{rng.choice(('IOE', 'SRC', 'WAC', 'LIN'))}{rng.randrange(10**9, 10**10)}",
                    "i140_category": rng.choice(("EB-2", "EB-2", "EB-3", "EB2")),
                    "i140_service_center": rng.choice(SERVICE_CENTERS), "i140_premium_processing": rng.random() < 0.4})
        last = i140
        if stage == "rfe" or (reached("i140_approved") and rng.random() < 0.15):
            received = i140 + dt.timedelta(days=rng.randrange(30, 90))
            entries["rfe"].append(_entry(rng, received, received + dt.timedelta(days=87), stage != "rfe", "USCIS RFE"))
            last = received
    if reached("i140_approved"):
        row["i140_approval_date"] = last + dt.timedelta(days=rng.randrange(15, 200))
        last = row["i140_approval_date"]
    if terminal and row["case_status"] == "Denied" and reached("i140_filed"):
        row["i140_denial_date"] = last + dt.timedelta(days=30)
    last = max([v for k, v in row.items() if type(v) is dt.date and not k.endswith(("_expiration_date", "_due_date"))]
               + [d for items in entries.values() for i in items for d in (i["received"], i["submitted"]) if d])
    updated = max(created, ts(min(last, BASE_DATE), rng))
    row["updated_at"] = updated
    rows: dict[str, list[dict]] = {"public.cases": [row], "public.case_rfi": [], "public.case_rfe": []}
    for kind, items in entries.items():
        _store_entries(rng, kind, items, row, rows, updated)
    return rows, last


def _store_entries(rng, kind: str, items: list[dict], case: dict, rows: dict, created: dt.datetime) -> None:
    """Store RFI/RFE entries in one of the three v1 forms: table rows, `<kind>_list`, legacy columns."""
    if not items:
        return
    form = rng.choice(("table", "list", "legacy"))
    if form == "table":
        for item in items:
            rows[f"public.case_{kind}"].append({
                "id": new_uuid(rng), "case_id": case["id"], "title": item["title"], "description": item["description"],
                "received_date": item["received"], "response_due_date": item["due"],
                "response_submitted_date": item["submitted"], "notes": item["notes"],
                "created_at": created, "updated_at": created,
            })
    elif form == "list":
        case[f"{kind}_list"] = json.dumps([{
            "title": i["title"], "description": i["description"], "received_date": i["received"].isoformat(),
            "response_due_date": i["due"].isoformat(),
            "response_submitted_date": i["submitted"].isoformat() if i["submitted"] else None, "notes": i["notes"],
        } for i in items])
    else:
        item = items[0]
        case.update({f"{kind}_received_date": item["received"], f"{kind}_response_due_date": item["due"],
                     f"{kind}_response_submitted_date": item["submitted"], f"{kind}_notes": "Response drafted by counsel."})
