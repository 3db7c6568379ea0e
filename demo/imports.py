"""The demo's lead imports, as RevOps and managers find them on the Import leads page:

- RevOps' Salesforce migration five weeks ago: done, with leads created, updated and
  skipped, and an error file with the three rows that could not go in;
- a manager's dry run of a webinar's attendee list this morning ("would create ..."), its
  file kept for a day so it can be run for real from its page;
- a HubSpot export the other manager started and cancelled before it ran.

Each goes through the services the pages use (upload, mapping, run, cancel), so the files,
mappings, counts and error rows are what the app writes. The demo keeps exactly the number
of leads asked for, each with its generated history (as `demo.dedupe` does): the
migration's file is made of leads the generator wrote (a lead that came in with it is one
of those), plus three broken rows. Run now, its rows find their leads and are skipped,
so it writes no lead; its counts are then set to what the first run of the file did,
when those leads were new. The dry run and the cancelled import write no lead anyway, and
their counts are the real ones.

Wiring (in `demo.seed.seed_demo`, inside its transaction, after `seed_dedupe`):

    seed_imports(now=now, users=users)

and in `demo.seed.delete_demo_data`, before the users go (their imports point at them):

    delete_demo_imports()
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from crm.models import User
from imports.config import ImportConfig
from imports.models import ImportJob
from imports.run import import_run
from imports.services import import_cancel, import_configure, import_upload
from leads.models import Lead, Source

DOMAIN = "demo-import.example"

SALESFORCE = ["First Name", "Last Name", "Title", "Company", "Email", "Phone", "Lead Source",
              "Lead Status", "Country", "Created Date"]  # fmt: skip
SALESFORCE_SOURCE: dict[str, str] = {
    Source.INBOUND: "Web",
    Source.OUTBOUND: "Purchased List",
    Source.REFERRAL: "Employee Referral",
    Source.EVENT: "Trade Show",
    Source.PARTNER: "Partner Referral",
    Source.OTHER: "Other",
}
SALESFORCE_STATUS: dict[str, str] = {
    Lead.Status.MQL: "Open - Not Contacted",
    Lead.Status.SAL: "Working - Contacted",
    Lead.Status.NURTURE: "Nurture",
}
# Rows Salesforce had and Threshold cannot take: no company, an address with no dot left
# in its domain, a lead Salesforce already converted (Threshold converts what it qualified).
BROKEN = (
    ("Hana", "Kim", "Supply Chain Analyst", "", "hana.kim@" + DOMAIN, "South Korea", "Web",
     "Open - Not Contacted"),
    ("Ben", "Carter", "Owner", "Carter Couriers", "ben.carter@demo-importexample", "USA", "Web",
     "Open - Not Contacted"),
    ("Omar", "Haddad", "Managing Director", "Haddad Logistics", "omar.haddad@" + DOMAIN, "AE",
     "Web", "Closed - Converted"),
)  # fmt: skip
# The migration's first run: of the rows that found their lead now, how many it updated
# (the person had come in through a web form before) and skipped (already up to date).
MIGRATION_UPDATED, MIGRATION_SKIPPED, MIGRATION_ROWS = 4, 3, 37

HUBSPOT = ["First Name", "Last Name", "Email", "Company Name", "Job Title", "Phone Number",
           "Country/Region", "Create Date"]  # fmt: skip
# A webinar's attendees: new people, and one who gave neither an e-mail nor a phone.
ATTENDEES = (
    ("Sari", "Wulandari", "Head of Operations", "PT Kirim Cepat", "Indonesia"),
    ("Arjun", "Mehta", "VP Sales", "Monsoon Freight", "India"),
    ("Lena", "Vogel", "COO", "Vogel Spedition GmbH", "Germany"),
    ("Marco", "Bianchi", "Logistics Director", "Bianchi Trasporti", "Italy"),
    ("Nadia", "Rahman", "CEO", "Rahman Cold Chain", "Malaysia"),
    ("Tom", "Becker", "Fleet Manager", "Becker Haulage", "United Kingdom"),
    ("Yuki", "Sato", "Procurement Lead", "Sato Shipping KK", "Japan"),
    ("Diego", "Ramos", "Ops Manager", "Ramos Carga", "Mexico"),
    ("Priya", "Nair", "Head of Procurement", "Nair Movers", "India"),
    ("Chloé", "Martin", "Directrice logistique", "Transports Martin", "France"),
    ("Kwame", "Mensah", "Operations Lead", "Accra Freight Hub", "Ghana"),
    ("Sofia", "Lindqvist", "Supply Chain Manager", "Nordic Cold Logistics", "Sweden"),
)
RETURNING_ATTENDEES = 3


@dataclass(frozen=True)
class DemoImports:
    """The imports made, for the seed's report and the tests."""

    migration: ImportJob
    dry_run: ImportJob
    cancelled: ImportJob


def _csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    """A CSV file as Salesforce and HubSpot export it: CRLF lines, a byte order mark."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def _live_leads(before: datetime.datetime) -> QuerySet[Lead]:
    """Demo leads a file's row finds (an open or nurtured lead with an address): its row is
    skipped, nothing written."""
    return (
        Lead.objects.filter(
            is_demo=True,
            status__in=list(SALESFORCE_STATUS),
            merged_into=None,
            created_at__lt=before,
        )
        .exclude(email="")
        .order_by("-created_at", "-pk")
    )


def _upload(by: User, name: str, content: bytes, **config: object) -> ImportJob:
    job = import_upload(by=by, file=io.BytesIO(content), name=name, size=len(content))
    mapping = ImportConfig.of(job)
    for field, value in config.items():
        setattr(mapping, field, value)
    return import_configure(job_id=job.pk, by=by, config=mapping)


def _run_now(job: ImportJob) -> ImportJob:
    """Run here rather than queued: the seed's transaction holds the rows the run reads."""
    ImportJob.objects.filter(pk=job.pk).update(queued_at=job.created_at)
    return import_run(job_id=job.pk)


def _dated(job: ImportJob, at: datetime.datetime, *, seconds: int, **counts: int) -> ImportJob:
    """Move the job to when the story says it ran (its rows are already in)."""
    finished = at + datetime.timedelta(minutes=3, seconds=seconds)
    ImportJob.objects.filter(pk=job.pk).update(
        created_at=at,
        queued_at=at + datetime.timedelta(minutes=3),
        started_at=at + datetime.timedelta(minutes=3) if job.started_at else None,
        finished_at=finished,
        updated_at=finished,
        **({"cancel_requested_at": finished} if job.cancel_requested_at else {}),
        **counts,
    )
    job.refresh_from_db()
    return job


def _migration(now: datetime.datetime, by: User) -> ImportJob:
    at = now - datetime.timedelta(days=35, hours=2)
    leads = list(_live_leads(at)[:MIGRATION_ROWS])
    rows = [
        [lead.first_name, lead.last_name, lead.job_title, lead.company_name, lead.email,
         lead.phone, SALESFORCE_SOURCE.get(lead.source, "Other"), SALESFORCE_STATUS[lead.status],
         lead.country, f"{lead.created_at:%m/%d/%Y %I:%M %p}"]
        for lead in leads
    ]  # fmt: skip
    for n, (first, last, title, company, email, country, source, status) in enumerate(BROKEN):
        created = at - datetime.timedelta(days=30 + 17 * n)
        phone, day = f"+1 555 01{n:02d}", f"{created:%m/%d/%Y %I:%M %p}"
        rows.insert(5 + 11 * n, [first, last, title, company, email, phone, source, status,
                                 country, day])  # fmt: skip
    job = _upload(by, "salesforce-leads-export.csv", _csv(SALESFORCE, rows),
                  default_campaign="Salesforce migration")  # fmt: skip
    job = _run_now(job)
    found = job.skipped
    updated, skipped = min(MIGRATION_UPDATED, found), min(MIGRATION_SKIPPED, found)
    return _dated(
        job,
        at,
        seconds=4,
        created=max(0, found - updated - skipped),
        updated=updated,
        skipped=skipped,
    )


def _webinar_dry_run(now: datetime.datetime, by: User) -> ImportJob:
    at = now - datetime.timedelta(hours=3)
    day = (at - datetime.timedelta(days=1)).date().isoformat()
    rows = [
        [first, last, f"{first}.{last}".lower().replace("é", "e") + f"@{DOMAIN}", company,
         title, f"+44 20 7946 0{n:03d}", country, day]
        for n, (first, last, title, company, country) in enumerate(ATTENDEES)
    ]  # fmt: skip
    rows[7][2] = rows[7][5] = ""  # signed up with a name only
    for lead in _live_leads(at)[: RETURNING_ATTENDEES * 7 : 7]:
        rows.append([lead.first_name, lead.last_name, lead.email, lead.company_name,
                     lead.job_title, lead.phone, lead.country, day])  # fmt: skip
    job = _upload(by, "webinar-attendees-hubspot.csv", _csv(HUBSPOT, rows),
                  default_source=Source.EVENT, dry_run=True,
                  default_campaign="Webinar: Answer every lead in 5 minutes")  # fmt: skip
    return _dated(_run_now(job), at, seconds=1)


def _cancelled(now: datetime.datetime, by: User) -> ImportJob:
    """Started, then cancelled before a worker took it: the owner column was wrong."""
    at = now - datetime.timedelta(days=3, hours=1)
    rows = [
        [first, last, f"{first.lower()}@{DOMAIN}", company, title, "", country, "2025-01-15"]
        for first, last, title, company, country in ATTENDEES[:6]
    ]
    job = _upload(by, "hubspot-contacts-all.csv", _csv(HUBSPOT, rows), default_source="inbound")
    ImportJob.objects.filter(pk=job.pk).update(queued_at=job.created_at)
    job = import_cancel(job_id=job.pk, by=by)
    return _dated(job, at, seconds=0)


def seed_imports(*, now: datetime.datetime, users: dict[str, User]) -> DemoImports:
    """The three imports of the module docstring, by RevOps and the two managers."""
    return DemoImports(
        migration=_migration(now, users["revops"]),
        dry_run=_webinar_dry_run(now, users["manager"]),
        cancelled=_cancelled(now, users["manager2"]),
    )


def delete_demo_imports() -> int:
    """The demo users' imports, their failed rows and stored files."""
    deleted, _by_model = ImportJob.objects.filter(created_by__is_demo=True).delete()
    return deleted
