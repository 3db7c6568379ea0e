"""Files to import, and a shortcut from bytes to a finished import."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from crm.models import User
from imports.config import ImportConfig
from imports.models import ImportJob
from imports.run import import_run
from imports.services import import_start, import_upload
from tests.factories import TeamFactory, UserFactory

SALESFORCE = ["First Name", "Last Name", "Company", "Email", "Lead Source", "Lead Status",
              "Created Date", "Phone"]  # fmt: skip


def csv_bytes(
    rows: Sequence[Sequence[Any]],
    *,
    header: Sequence[str] = SALESFORCE,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def sf_row(n: int, **values: Any) -> list[str]:
    """A Salesforce export row; keyword arguments replace columns by header."""
    row = {
        "First Name": f"Ana{n}",
        "Last Name": f"Pérez{n}",
        "Company": f"PT Nusantara {n}",
        "Email": f"ana{n}@nusantara.example",
        "Lead Source": "Web",
        "Lead Status": "Open - Not Contacted",
        "Created Date": "2024-03-01",
        "Phone": "",
    }
    row.update({k.replace("_", " "): v for k, v in values.items()})
    return [str(row[h]) for h in SALESFORCE]


def upload(user: User, content: bytes, name: str = "leads.csv") -> ImportJob:
    return import_upload(by=user, file=io.BytesIO(content), name=name, size=len(content))


@pytest.fixture
def sdrs(db) -> list[User]:
    team = TeamFactory(name="Inbound")
    return [UserFactory(sdr=True, team=team, username=f"sdr{i}") for i in range(2)]


@pytest.fixture
def run_import(sdrs, revops) -> Callable[..., ImportJob]:
    """`run_import(content, by=..., **config)`: upload, start with the proposed mapping
    (changed by `config`), run, and return the finished job."""

    def _run(content: bytes, *, by: User | None = None, **changes: Any) -> ImportJob:
        user = by or revops
        job = upload(user, content)
        config = ImportConfig.of(job)
        for name, value in changes.items():
            setattr(config, name, value)
        import_start(job_id=job.pk, by=user, config=config)
        import_run(job_id=job.pk)
        job.refresh_from_db()
        return job

    return _run
