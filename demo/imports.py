"""The demo's lead import: RevOps brought in a Salesforce export last week, through the same
services the import pages use (upload, mapping, the run), so the Import leads page shows a
finished import, its counts and an error file with the rows that could not go in.

Wiring (demo/seed.py, inside the seed's transaction, after the staff exist):

    from demo.imports import delete_demo_imports, seed_imports
    seed_imports(now=now, users=users)          # after seed_capture(...)
    delete_demo_imports()                       # in delete_demo_data(), before the users go

The imported leads are marked `is_demo`, so `delete_demo_data` removes them with the rest.
"""

from __future__ import annotations

import csv
import datetime
import io

from django.utils import timezone

from crm.models import User
from imports.config import ImportConfig
from imports.models import ImportJob
from imports.run import import_run
from imports.services import import_configure, import_upload
from leads.models import Lead

DOMAIN = "demo-import.example"
HEADER = ["First Name", "Last Name", "Title", "Company", "Email", "Phone", "Lead Source",
          "Lead Status", "Country", "Created Date"]  # fmt: skip
OPEN, WORKING = "Open - Not Contacted", "Working - Contacted"
PEOPLE = [
    ("Sari", "Wulandari", "Head of Operations", "PT Kirim Cepat", "Web", OPEN, "Indonesia"),
    ("Arjun", "Mehta", "VP Sales", "Monsoon Freight", "Trade Show", WORKING, "India"),
    ("Lena", "Vogel", "COO", "Vogel Spedition GmbH", "Partner Referral", OPEN, "Germany"),
    ("Marco", "Bianchi", "Logistics Director", "Bianchi Trasporti", "Webinar", OPEN, "Italy"),
    ("Nadia", "Rahman", "CEO", "Rahman Cold Chain", "Employee Referral", WORKING, "Malaysia"),
    ("Tom", "Becker", "Fleet Manager", "Becker Haulage", "Purchased List", "Nurture", "UK"),
    ("Yuki", "Sato", "Procurement Lead", "Sato Shipping KK", "Web", OPEN, "Japan"),
    ("Diego", "Ramos", "Ops Manager", "Ramos Carga", "Trade Show", "Closed - Not Converted", "MX"),
    ("Hana", "Kim", "Supply Chain Analyst", "", "Web", OPEN, "South Korea"),
    ("Omar", "Haddad", "Managing Director", "Haddad Logistics", "Web", "Closed - Converted", "AE"),
    ("Priya", "Nair", "Head of Procurement", "Nair Movers", "Seminar - Partner", OPEN, "India"),
    ("Ben", "Carter", "Owner", "Carter Couriers", "Web", OPEN, "USA"),
]


def _export(now: datetime.datetime) -> bytes:
    """A Salesforce lead export: US dates, a row without a company, a typo'd address, a
    lead Salesforce already converted (Threshold converts only what it qualified)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(HEADER)
    for n, (first, last, title, company, source, status, country) in enumerate(PEOPLE):
        created = now - datetime.timedelta(days=40 + 23 * n)
        email = f"{first.lower()}.{last.lower()}@{DOMAIN}"
        if first == "Ben":
            email = f"ben.carter@{DOMAIN.replace('.', '', 1)}"  # no dot left: not an address
        writer.writerow([first, last, title, company, email, f"+1 555 01{n:02d}", source,
                         status, country, f"{created:%m/%d/%Y} 9:30 AM"])  # fmt: skip
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def seed_imports(*, now: datetime.datetime, users: dict[str, User]) -> ImportJob:
    """One finished import by RevOps, a week ago: 9 leads in, 3 rows in its error file."""
    by = users["revops"]
    content = _export(now)
    job = import_upload(
        by=by, file=io.BytesIO(content), name="salesforce-leads-export.csv", size=len(content)
    )
    config = ImportConfig.of(job)
    config.default_campaign = "Salesforce migration"
    import_configure(job_id=job.pk, by=by, config=config)
    # Run here rather than queued: the seed's transaction holds the rows the run reads.
    ImportJob.objects.filter(pk=job.pk).update(queued_at=timezone.now())
    job = import_run(job_id=job.pk)
    Lead.objects.filter(email__endswith=f"@{DOMAIN}").update(is_demo=True)
    Lead.objects.filter(email__endswith=f"@{DOMAIN.replace('.', '', 1)}").update(is_demo=True)
    when = now - datetime.timedelta(days=7)
    ImportJob.objects.filter(pk=job.pk).update(
        created_at=when,
        queued_at=when + datetime.timedelta(minutes=2),
        started_at=when + datetime.timedelta(minutes=2),
        finished_at=when + datetime.timedelta(minutes=2, seconds=1),
    )
    job.refresh_from_db()
    return job


def delete_demo_imports() -> int:
    """The demo users' imports, their failed rows and stored files."""
    deleted, _by_model = ImportJob.objects.filter(created_by__is_demo=True).delete()
    return deleted
