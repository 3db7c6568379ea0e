"""The lead list as a CSV file (the queue's Export CSV and `GET /api/v1/leads/export/`).

The caller hands over the leads already scoped to the reader, filtered and ordered as
their list shows them; this reads them as tuples (`values_list`) a chunk at a time and
shapes each as a row, so an export of a million leads holds one chunk in memory and
builds no model instance. `crm.csv_safe` writes the file (formula-safe, BOM, streamed).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from crm.csv_safe import instant_cell, person_cell
from leads.models import Lead, Segment, Source
from leads.selectors import field_label

EXPORT_CHUNK = 2000  # rows fetched per round trip while a CSV streams
_PEOPLE = ("owner", "ae")
_INSTANTS = (
    "created_at",
    "updated_at",
    "mql_at",
    "accepted_at",
    "qualified_at",
    "handed_off_at",
    "converted_at",
    "rejected_at",
    "nurtured_at",
    "disqualified_at",
)
_PLAIN = (
    "company_name",
    "company_domain",
    "industry",
    "employee_count",
    "segment",
    "territory",
    "country",
    "first_name",
    "last_name",
    "job_title",
    "email",
    "phone",
    "status",
    "source",
    "campaign",
    "score",
)
EXPORT_FIELDS = (
    "pk",
    *_PLAIN,
    *(f"{who}__{part}" for who in _PEOPLE for part in ("first_name", "last_name", "username")),
    "team__name",
    *_INSTANTS,
    "merged_into",
)


def lead_export_header() -> list[str]:
    """The export's column names, in the reader's language."""
    return [
        "ID",
        *(field_label(name) for name in _PLAIN),
        str(_("Owner")),
        str(_("AE")),
        str(_("Team")),
        *(field_label(name) for name in _INSTANTS),
        # A merged-away lead is a record of the person, not a second one: say whose.
        str(_("Merged into")),
    ]


def lead_export_rows(leads: QuerySet[Lead], *, zone: datetime.tzinfo) -> Iterator[list[Any]]:
    """Every lead of `leads` (already scoped, filtered and ordered) as a CSV row: read
    as tuples a chunk at a time (no model instances, memory flat whatever the count);
    choices as their labels, people by name, instants in `zone` with their offset."""
    labels = {
        name: {str(code): str(label) for code, label in choices}
        for name, choices in (
            ("segment", Segment.choices),
            ("status", Lead.Status.choices),
            ("source", Source.choices),
        )
    }
    plain = len(_PLAIN) + 1
    coded = [(1 + _PLAIN.index(name), names) for name, names in labels.items()]
    for values in leads.values_list(*EXPORT_FIELDS).iterator(chunk_size=EXPORT_CHUNK):
        row = list(values[:plain])
        for offset, names in coded:
            row[offset] = names.get(row[offset], row[offset])
        people = values[plain : plain + 6]
        row += [person_cell(*people[:3]), person_cell(*people[3:]), values[plain + 6] or ""]
        row += [instant_cell(at, zone) for at in values[plain + 7 : -1]]
        row.append(values[-1] or "")
        yield row
