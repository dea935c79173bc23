"""A small dirty v1 snapshot exercising the case-side rules, as INSERTs valid on DuckDB and Postgres."""

U1, U2, U_BANNED = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222", "33333333-3333-3333-3333-333333333333"
A1, A2, A_BANNED = "aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002", "aaaaaaaa-0000-0000-0000-000000000003"
ORPHAN = "99999999-9999-9999-9999-999999999999"


def case_id(n: int) -> str:
    return f"cccccccc-0000-0000-0000-{n:012d}"


AUTH_USERS = [
    {"id": A1, "email": "Owner.One@Example.com ", "created_at": "2023-01-01 00:00:00"},
    {"id": A2, "email": "owner2@example.com", "created_at": "2023-01-02 00:00:00"},
    {"id": A_BANNED, "email": "banned@example.com", "created_at": "2023-01-03 00:00:00", "banned_until": "2999-01-01 00:00:00"},
]
APP_USERS = [
    {"id": U1, "auth_user_id": A1, "email": "owner.one@example.com", "created_at": "2023-01-01 00:00:00"},
    {"id": U2, "auth_user_id": A2, "email": "owner2@example.com", "created_at": "2023-01-02 00:00:00"},
    {"id": U_BANNED, "auth_user_id": A_BANNED, "email": "banned@example.com", "created_at": "2023-01-03 00:00:00"},
]
METHODS = (
    '[{"method": "Radio Advertisement", "date": "2024-02-01", "description": "KQED"},'
    ' {"type": "radio", "dates": ["2024-02-10", "2024-02-03", "bad"], "outlet": "WNYC"},'
    ' "Job Fair", null, 42, {"method": "Skywriting"}, {"type": "Indeed", "date": "2024-02-05"}]'
)
CASES = [
    {"id": case_id(1), "user_id": U1, "employer_name": "  Acme\u0007 Corp ", "position_title": "Engineer",
     "case_status": "PWD Approved", "progress_status": "Working on it", "priority_level": "Medium",
     "pwd_determination_date": "2024-05-15", "pwd_wage_amount": "$85,000.005", "pwd_wage_level": "Level 2",
     "job_order_state": "new  york", "i140_category": "eb 2", "sunday_ad_first_date": "2024-01-15",
     "sunday_ad_second_date": "2024-01-22", "job_order_start_date": "2024-01-10", "job_order_end_date": "2024-02-10",
     "notice_of_filing_start_date": "2025-01-15", "is_professional_occupation": True,
     "additional_recruitment_methods": METHODS, "recruitment_applicants_count": 3,
     "notes": "Call the client\nabout docs", "tags": '["a", "b", 1, "a", " c "]',
     "rfi_list": '[{"title": "RFI one", "received_date": "2024-04-01", "response_due_date": "2024-04-20"},'
                 ' {"title": "dup", "received_date": "2024-04-01"}, {"response_due_date": "2024-05-01"}, {}]',
     "rfi_received_date": "2024-04-01", "rfi_notes": "legacy rfi notes",
     "documents": '[{"id": "d1", "name": "a.pdf", "url": "https://x.supabase.co/storage/v1/a.pdf", "type": "pdf"}, null]',
     "created_at": "2024-01-01 10:00:00.123456", "updated_at": "2023-12-31 00:00:00"},
    {"id": case_id(2), "user_id": A2, "employer_name": "", "position_title": "Analyst", "case_status": "Withdrawn",
     "progress_status": "pending documents", "pwd_determination_date": "2024-09-10",
     "pwd_expiration_date": "2025-07-01", "eta9089_certification_date": "2024-12-01",
     "notes": '[{"id": "n1", "content": " hello ", "createdAt": "2024-02-01T00:00:00Z", "status": "done",'
              ' "priority": "high", "category": "bogus", "dueDate": "2024-03-01"}, {"content": ""}, null,'
              ' {"content": "late", "createdAt": "yesterday", "dueDate": "2024-02-30", "priority": "urgent"}]',
     "tags": "x, y,,x", "rfe_received_date": "2024-07-01", "rfe_notes": "rfe legacy", "pwd_wage_amount": "12.5",
     "created_at": "2024-02-01 00:00:00"},
    {"id": case_id(3), "user_id": ORPHAN, "employer_name": "Orphan Inc", "position_title": "X",
     "case_status": "PWD", "created_at": "2024-01-01 00:00:00"},
    {"id": case_id(4), "user_id": U1, "employer_name": "Gone", "position_title": "Y", "case_status": "pwd",
     "created_at": "2024-01-01 00:00:00", "deleted_at": "2024-06-01 00:00:00"},
    {"id": case_id(5), "user_id": U_BANNED, "employer_name": "Banned Co", "position_title": "Z",
     "case_status": "pwd", "created_at": "2024-01-01 00:00:00"},
    {"id": case_id(6), "user_id": U2, "employer_name": "Beta", "position_title": "Dev", "case_status": "Zebra",
     "progress_status": "RFI/RFE", "progress_status_override": True, "eta9089_filing_date": "2024-03-15",
     "priority_level": "weird", "pwd_wage_level": "V", "i140_category": "EB-5", "job_order_state": "ZZ",
     "recruitment_applicants_count": -2, "pwd_filing_date": "2030-01-01", "sunday_ad_first_date": "2024-01-16",
     "additional_recruitment_methods": '"[\\"Television\\"]"', "calendar_event_ids": '["x"]',
     "tags": '"[\\"t1\\", null, \\"t2\\"]"', "rfe_list": '"[{\\"received_date\\": \\"2024-08-01\\"}]"',
     "created_at": None, "updated_at": None},
]
CASE_RFI = [
    {"id": "dddddddd-0000-0000-0000-000000000001", "case_id": case_id(1), "title": "RFI one",
     "received_date": "2024-04-01", "response_due_date": "2024-05-01", "created_at": "2024-04-02 00:00:00"},
    {"id": "dddddddd-0000-0000-0000-000000000002", "case_id": case_id(1), "title": "rfi ONE ",
     "received_date": "2024-04-01", "created_at": "2024-04-03 00:00:00"},
    {"id": "dddddddd-0000-0000-0000-000000000003", "case_id": case_id(1), "created_at": "2024-04-04 00:00:00"},
    {"id": "dddddddd-0000-0000-0000-000000000004", "case_id": ORPHAN, "received_date": "2024-04-01"},
    {"id": "dddddddd-0000-0000-0000-000000000005", "case_id": case_id(4), "received_date": "2024-04-01"},
    {"id": "dddddddd-0000-0000-0000-000000000006", "case_id": case_id(3), "received_date": "2024-04-01"},
]
CASE_RFE = [
    {"id": "eeeeeeee-0000-0000-0000-000000000001", "case_id": case_id(2), "received_date": "2024-07-01",
     "response_due_date": "2024-08-01", "created_at": "2024-07-02 00:00:00"},
]
TABLES = {"auth_users": AUTH_USERS, "app_users": APP_USERS, "cases": CASES, "case_rfi": CASE_RFI, "case_rfe": CASE_RFE}


def literal(value) -> str:
    """A SQL literal that both warehouses cast implicitly to the raw column type."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def insert_statements(schema: str = "raw") -> list[str]:
    """One INSERT per row, naming only the columns the row sets."""
    statements = []
    for table, rows in TABLES.items():
        for row in rows:
            columns = ", ".join(row)
            values = ", ".join(literal(v) for v in row.values())
            statements.append(f"insert into {schema}.{table} ({columns}) values ({values})")
    return statements
