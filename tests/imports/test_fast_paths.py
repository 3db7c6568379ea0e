"""The import's fast paths answer exactly as the plain ones: the name key without a regex,
the identity domain worked out once per distinct pair, each distinct value of a column
converted once, the name probe among leads without an address, and the JSON of the
history serialized once per distinct value."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from crm.services import company_domain
from imports import rows
from imports.models import ImportJob
from imports.rows import RowReader
from leads.identity import identity_domain, normalize_name
from leads.models import LeadEvent
from leads.services.bulk_intake import leads_bulk_intake
from leads.services.bulk_rows import (
    EVENT_COLUMNS,
    BulkRow,
    json_value,
    server_binding,
    write_rows,
)
from tests.factories import LeadFactory, UserFactory

_WHITESPACE = re.compile(r"\s+")
# Whitespace of every kind `\s` knows (tabs, no-break and ideographic spaces), letters.
_TEXT = st.text(alphabet=st.sampled_from(" \t\n\u00a0\u3000\u2009\x1cAbéZ-'."), max_size=12)


@given(first=_TEXT, last=_TEXT)
def test_the_name_key_is_the_regex_one(first: str, last: str) -> None:
    expected = _WHITESPACE.sub(" ", f"{first} {last}").strip().lower() if last.strip() else ""
    assert normalize_name(first, last) == expected


@given(
    domain=st.sampled_from(["", "https://www.Acme.com/x", " acme.co.id ", "WWW.x.org."]),
    email=st.sampled_from(
        ["", "ana@Gmail.com", "a@b@Acme.COM ", "ana@", "@", "bob@ www.acme.com", "no-at"]
    ),
)
def test_the_identity_domain_is_company_domain(domain: str, email: str) -> None:
    assert identity_domain({"company_domain": domain, "email": email}) == company_domain(
        domain=domain, email=email
    )


def _reader(columns: list[str], **job: Any) -> RowReader:
    user = UserFactory.build(time_zone="UTC")
    draft = ImportJob(headers=columns, columns=columns, created_by=user, **job)
    return RowReader(draft, owners=[], now=timezone.now())


@pytest.mark.django_db
def test_a_repeated_value_converts_as_the_first_and_problems_repeat_alike() -> None:
    reader = _reader(
        ["last_name", "source", "status", "created_at", "country"], date_formats={"3": "dmy"}
    )
    good = ["Wijaya", "Trade Show", "Working - Contacted", "01/02/2024", "Indonesia"]
    first, again = reader.convert(good), reader.convert(list(good))
    assert first.row is not None and again.row is not None
    assert first.row.data == again.row.data == {
        "last_name": "Wijaya", "source": "event", "country": "ID"
    }  # fmt: skip
    assert (first.row.status, first.row.status_label) == ("sal", "Working - Contacted")
    assert (again.row.status, again.row.status_label) == ("sal", "Working - Contacted")
    assert first.row.at == again.row.at is not None
    bad = ["Wijaya", "Web", "Closed - Converted", "31/02/2023", "Atlantis"]
    for converted in (reader.convert(bad), reader.convert(list(bad))):
        assert converted.row is None
        assert [(p.code, p.field) for p in converted.problems] == [
            ("status_not_importable", "status"),
            ("invalid_date", "created_at"),
            ("invalid_choice", "country"),
            # and what the intake rules say of the rest, all at once
            ("required", "company_name"),
            ("contact_unreachable", "email"),
        ]


@pytest.mark.django_db
def test_a_full_name_still_yields_to_the_rows_own_columns() -> None:
    reader = _reader(["full_name", "last_name"])
    own = reader.convert(["Ana María Pérez", "Santoso"])
    split = reader.convert(["Ana María Pérez", ""])
    assert own.row is not None and split.row is not None
    assert own.row.data == {"first_name": "Ana María", "last_name": "Santoso"}
    assert split.row.data == {"first_name": "Ana María", "last_name": "Pérez"}


@pytest.mark.django_db
def test_an_address_meets_the_same_name_only_on_a_lead_without_one(revops) -> None:
    # given a lead without an address and one with another address, both "Ana Pérez"
    # at acme.example
    base = {"first_name": "Ana", "last_name": "Pérez", "company_name": "Acme"}
    bare = LeadFactory(**base, email="", company_domain="acme.example", phone="+62 1")
    other = LeadFactory(**base, email="other@acme.example", company_domain="acme.example")
    batch = [
        BulkRow({**base, "email": "ana@acme.example", "source": "inbound"}),
        BulkRow(
            {
                **base,
                "email": "",
                "phone": "+62 2",
                "company_domain": "acme.example",
                "source": "inbound",
            }
        ),  # fmt: skip
    ]
    # when both come in
    result = leads_bulk_intake(rows=batch, by=revops)
    # then the row with an address is the lead without one (the other address is another
    # person); the row without one may be either, and is the newest
    assert [(o.outcome, o.lead_id) for o in result.outcomes] == [
        ("skipped", bare.pk),
        ("skipped", other.pk),
    ]


@pytest.mark.django_db
def test_history_json_written_once_reads_back_as_written(revops) -> None:
    value = json_value({"owner": [None, "Ana Pérez"]})
    lead = LeadFactory()
    write_rows(LeadEvent, EVENT_COLUMNS, [(lead.pk, "edited", revops.pk, lead.created_at,
                                          value, "import")] * 2)  # fmt: skip
    assert [e.changes for e in LeadEvent.objects.filter(lead=lead, kind="edited")] == [
        {"owner": [None, "Ana Pérez"]}
    ] * 2


@pytest.mark.django_db
def test_server_binding_is_left_as_it_was_found() -> None:
    connection.ensure_connection()
    before = getattr(connection.connection, "cursor_factory", None)
    with pytest.raises(ValueError, match="boom"), server_binding():
        raise ValueError("boom")
    assert getattr(connection.connection, "cursor_factory", None) is before


@pytest.mark.django_db
def test_a_column_of_values_that_do_not_repeat_is_converted_directly(monkeypatch) -> None:
    monkeypatch.setattr("imports.rows._MEMO_SIZE", 2)
    reader = _reader(["last_name", "created_at"])
    dates = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-13-01", "2024-01-04"]
    converted = [reader.convert(["Wijaya", date]) for date in dates]
    assert [c.row.at.day if c.row else None for c in converted] == [1, 2, 3, None, 4]
    assert [p.code for c in converted for p in c.problems if p.field == "created_at"] == [
        "invalid_date"
    ]
    assert reader.plan[1][2] is rows._NOT_CACHED  # the memory let go
