"""What a conversion costs: the writes it needs and each read once (issue 14: ≤ 20).

The count is pinned, so a change that adds a statement says so here. SAVEPOINTs are the
test's own transaction, not the service's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Account, Contact
from opportunities import services
from sla.models import SlaTimer
from tests.factories import AccountFactory, ContactFactory, ConvertibleLeadFactory
from tests.opportunities.test_conversion import wizard_input

# The set-based statements (upserts, the one-statement clock stop) are PostgreSQL.
pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

LIMIT = 20


def _statements(lead) -> list[str]:
    raw = wizard_input(lead)
    with CaptureQueriesContext(connection) as captured:
        services.lead_convert(lead_id=lead.pk, by=lead.ae, raw=raw)
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def test_a_new_company_converts_within_the_budget():
    lead = ConvertibleLeadFactory()

    statements = _statements(lead)

    assert len(statements) <= LIMIT, "\n".join(s[:120] for s in statements)
    assert len(statements) == 19
    assert Account.objects.count() == 1 and Contact.objects.count() == 1


def test_a_known_company_and_contact_cost_no_more():
    lead = ConvertibleLeadFactory()
    account = AccountFactory(name=lead.company_name, domain=lead.company_domain)
    ContactFactory(account=None, email=lead.email.upper())

    statements = _statements(lead)

    assert len(statements) == 18, "\n".join(s[:120] for s in statements)
    assert Account.objects.count() == 1
    contact = Contact.objects.get()
    assert contact.account == account  # a contact without a company joins this one


def test_every_clock_stops_in_one_statement():
    lead = ConvertibleLeadFactory()

    statements = _statements(lead)

    touching_timers = [s for s in statements if "sla_slatimer" in s]
    assert len(touching_timers) == 1
    assert not SlaTimer.objects.filter(lead=lead, stopped_at__isnull=True).exists()
