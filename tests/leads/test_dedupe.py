"""One person, one live lead: `lead_intake` deduplicates on e-mail, else name at company
domain; a returning person whose lead was closed gets a new lead linked to the old one."""

from __future__ import annotations

import datetime
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.db import connection
from django.db.models.functions import Lower
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.exceptions import ValidationFailed
from leads import identity
from leads.duplicates import find_duplicates, person_leads
from leads.models import Lead, LeadEvent, RejectionReason
from leads.services import lead_intake
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

S = Lead.Status
PERSON = {
    "company_name": "PT Nusantara Logistik",
    "company_domain": "nusantara.example",
    "first_name": "Budi",
    "last_name": "Wijaya",
    "email": "budi@nusantara.example",
    "source": "inbound",
}


def _intake(**fields):
    return lead_intake(by=None, data={**PERSON, **fields}, via="api")


# --- identity: the pure keys -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("  Budi@Nusantara.EXAMPLE ", "budi@nusantara.example"), ("", ""), (None, "")],
)
def test_normalize_email(raw, expected):
    assert identity.normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.Acme.com/about", "acme.com"),
        ("acme.com", "acme.com"),
        ("WWW.ACME.COM.", "acme.com"),
        ("", ""),
    ],
)
def test_normalize_domain(raw, expected):
    assert identity.normalize_domain(raw) == expected


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("  Ana   María ", "Pérez", "ana maría pérez"),
        ("", "WIJAYA", "wijaya"),
        ("Budi", "", ""),
        ("Budi\tAgus", " Wijaya ", "budi agus wijaya"),
    ],
)
def test_normalize_name(first, last, expected):
    assert identity.normalize_name(first, last) == expected


def test_person_key_is_email_else_name_at_domain_else_none():
    assert identity.person_key(PERSON) == ("email", "budi@nusantara.example")
    no_email = {**PERSON, "email": ""}
    assert identity.person_key(no_email) == ("name", "budi wijaya|nusantara.example")
    # The e-mail's domain stands in for a missing web domain, unless it is free mail.
    assert identity.name_key({**PERSON, "company_domain": ""}) == "budi wijaya|nusantara.example"
    assert identity.name_key({**PERSON, "company_domain": "", "email": "b@gmail.com"}) == ""
    assert identity.person_key({**no_email, "company_domain": ""}) is None


@pytest.mark.parametrize(
    ("first", "last"),
    [("  Budi  ", "Wijaya"), ("BUDI", "  WIJAYA  "), ("budi   agus", "wijaya"), ("", "Wijaya")],
)
def test_the_sql_name_key_is_the_python_one(first, last):
    """The functional index and the lookup compute what `normalize_name` computes."""
    lead = LeadFactory(first_name=first, last_name=last)
    stored = (
        Lead.objects.filter(pk=lead.pk)
        .annotate(key=identity.NameKey("first_name", "last_name"))
        .values_list("key", flat=True)
        .get()
    )
    assert stored == identity.normalize_name(first, last)


# --- intake -------------------------------------------------------------------------------


def test_a_new_person_becomes_a_routed_mql():
    result = _intake()
    assert result.outcome == "created"
    assert result.previous is None
    assert result.lead.status == S.MQL
    assert result.lead.events.filter(kind=LeadEvent.Kind.CREATED, note="api").exists()


def test_the_same_email_in_any_case_and_spacing_is_a_touch_not_a_second_lead():
    first = _intake().lead
    at = timezone.now() - datetime.timedelta(hours=2)
    result = lead_intake(
        by=None,
        data={**PERSON, "email": "  BUDI@nusantara.Example ", "source": "event", "phone": "+62 1"},
        via="web_form",
        form="webinar-2026",
        at=at,
    )
    assert result.outcome == "deduplicated"
    assert result.lead.pk == first.pk
    assert result.previous is None
    assert Lead.objects.count() == 1
    touch = first.events.get(kind=LeadEvent.Kind.TOUCH)
    assert touch.created_at == at
    assert touch.changes["channel"] == [None, "web_form"]
    assert touch.changes["form"] == [None, "webinar-2026"]
    assert touch.changes["source"] == ["inbound", "event"]
    # What the submission said that the lead does not is kept on the touch.
    assert touch.changes["phone"] == ["", "+62 1"]
    assert "email" not in touch.changes  # the same address, written differently
    first_version = first.version
    first.refresh_from_db()
    assert first.version == first_version  # a touch is not an edit


def test_name_at_company_domain_identifies_a_person_without_email():
    first = _intake(email="", phone="+62 31 555")
    again = lead_intake(
        by=None,
        data={
            **PERSON,
            "email": "",
            "phone": "+62 31 999",
            "first_name": " budi ",
            "last_name": "WIJAYA",
            "company_domain": "https://www.nusantara.example/contact",
        },
        via="import",
    )
    assert again.outcome == "deduplicated"
    assert again.lead.pk == first.lead.pk


def test_an_email_matches_a_lead_of_the_same_name_and_domain_that_had_none():
    first = _intake(email="", phone="+62 31 555")
    again = _intake(company_domain="")  # the e-mail's domain is the company's
    assert again.outcome == "deduplicated"
    assert again.lead.pk == first.lead.pk


def test_two_addresses_are_two_people_even_with_one_name():
    _intake()
    other = _intake(email="budi.w@nusantara.example")
    assert other.outcome == "created"
    assert Lead.objects.count() == 2


def test_free_mail_is_no_company_domain():
    _intake(email="", company_domain="", phone="1", company_name="Acme")
    again = _intake(email="", company_domain="", phone="2", company_name="Acme")
    assert again.outcome == "created"  # no key: cannot tell the person apart


@pytest.mark.parametrize("via", ["web_form", "webhook"])
def test_a_phone_only_person_coming_back_is_a_touch_as_in_an_import(via):
    # no e-mail, no web domain: name, company and phone digits are the record's key
    phone_only = {"email": "", "company_domain": "", "company_name": "PhoneTwice Ltd"}
    first = lead_intake(
        by=None, data={**PERSON, **phone_only, "phone": "+62 812 7777 1234"}, via=via
    )
    again = lead_intake(
        by=None,
        data={**PERSON, **phone_only, "first_name": "BUDI", "phone": "+62-812-7777-1234"},
        via=via,
    )
    assert (again.outcome, again.lead.pk) == ("deduplicated", first.lead.pk)
    assert LeadEvent.objects.filter(lead=first.lead, kind=LeadEvent.Kind.TOUCH).count() == 1
    # another phone, or another company, is another record
    other = lead_intake(by=None, data={**PERSON, **phone_only, "phone": "+62 812 0000"}, via=via)
    elsewhere = lead_intake(
        by=None,
        data={**PERSON, **phone_only, "company_name": "Other", "phone": "+62 812 7777 1234"},
        via=via,
    )
    assert (other.outcome, elsewhere.outcome) == ("created", "created")


@pytest.mark.parametrize("status", [S.NEW, S.SAL, S.SQL, S.NURTURE, S.REJECTED])
def test_every_live_status_holds_the_person(status):
    extra = {"rejection_reason": RejectionReason.objects.first()} if status == S.REJECTED else {}
    lead = LeadFactory(status=status, email="budi@nusantara.example", **extra)
    result = _intake()
    assert (result.outcome, result.lead.pk) == ("deduplicated", lead.pk)


@pytest.mark.parametrize("status", [S.CONVERTED, S.DISQUALIFIED])
def test_a_closed_lead_makes_way_for_a_new_one_linked_to_it(status):
    extra = {"converted_at": timezone.now()} if status == S.CONVERTED else {}
    old = LeadFactory(status=status, email="Budi@Nusantara.example", **extra)
    older = LeadFactory(status=S.DISQUALIFIED, email="budi@nusantara.example")
    Lead.objects.filter(pk=older.pk).update(created_at=old.created_at - datetime.timedelta(days=9))
    result = _intake()
    assert result.outcome == "created"
    assert result.previous == old
    assert result.lead.previous_lead == old
    assert result.lead.events.get(kind=LeadEvent.Kind.CREATED).changes == {
        "previous_lead": [None, old.pk]
    }


def test_the_open_lead_wins_over_older_closed_ones():
    LeadFactory(status=S.DISQUALIFIED, email="budi@nusantara.example")
    live = LeadFactory(status=S.MQL, email="budi@nusantara.example")
    assert _intake().lead == live


def test_an_import_keeps_the_lead_s_own_date():
    at = timezone.now() - datetime.timedelta(days=400)
    lead = lead_intake(by=None, data=PERSON, via="import", at=at).lead
    lead.refresh_from_db()
    assert lead.created_at == at
    assert lead.mql_at == at


def test_bad_data_is_refused_before_anything_is_looked_up():
    _intake()
    with pytest.raises(ValidationFailed) as caught:
        lead_intake(by=None, data={**PERSON, "company_name": "", "status": "sql"}, via="api")
    assert {(p.code, p.field) for p in caught.value.problems} == {
        ("required", "company_name"),
        ("unknown_field", "status"),
    }
    with pytest.raises(ValidationFailed) as caught:
        lead_intake(by=None, data=PERSON, via="fax")
    assert [(p.code, p.field) for p in caught.value.problems] == [("invalid_choice", "via")]
    assert not LeadEvent.objects.filter(kind=LeadEvent.Kind.TOUCH).exists()


def test_a_touch_costs_a_few_queries():
    _intake()
    with CaptureQueriesContext(connection) as queries:
        _intake()
    # advisory locks (PostgreSQL: 2), probes (2), lock, event, savepoint bookkeeping.
    assert len(queries) <= 10, [q["sql"] for q in queries]


def test_the_email_lookup_is_an_index_probe(is_postgres):
    if not is_postgres:
        pytest.skip("EXPLAIN output is PostgreSQL's")
    LeadFactory.create_batch(3)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plan = Lead.objects.alias(k=Lower("email")).filter(k="x@y.example").exclude(email="")
        explained = plan.explain()
        cursor.execute("SET enable_seqscan = on")
    assert "lead_email_key_idx" in explained


# --- likely duplicates --------------------------------------------------------------------


def test_find_duplicates_lists_open_and_closed_matches_live_first():
    closed = LeadFactory(status=S.DISQUALIFIED, email="budi@nusantara.example")
    same_name_other_address = LeadFactory(
        first_name="Budi",
        last_name="Wijaya",
        email="b.wijaya@nusantara.example",
        company_domain="nusantara.example",
    )
    same_name_same_company = LeadFactory(
        first_name="Budi", last_name="Wijaya", email="", company_name="Nusantara Logistik, PT"
    )
    LeadFactory(first_name="Budi", last_name="Wijaya", company_name="Elsewhere")
    found = find_duplicates(PERSON)
    assert set(found) == {closed, same_name_other_address, same_name_same_company}
    assert found[-1] == closed  # live leads first
    assert find_duplicates(PERSON, limit=1) == found[:1]


def test_person_leads_follow_the_identity_rule():
    mine = LeadFactory(email="budi@nusantara.example")
    LeadFactory(email="budi.w@nusantara.example", first_name="Budi", last_name="Wijaya")
    assert person_leads(PERSON) == [mine]


# --- a race -------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_simultaneous_intakes_of_one_new_person_make_one_lead():
    UserFactory(sdr=True)
    clients = 8
    barrier = Barrier(clients)

    def intake(index: int) -> str:
        try:
            barrier.wait()
            data = {**PERSON, "email": "Budi@nusantara.example" if index % 2 else PERSON["email"]}
            return lead_intake(by=None, data=data, via="webhook").outcome
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=clients) as pool:
        outcomes = list(pool.map(intake, range(clients)))
    assert sorted(outcomes) == ["created"] + ["deduplicated"] * (clients - 1)
    assert Lead.objects.count() == 1
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.TOUCH).count() == clients - 1


# --- the browser's intake form ------------------------------------------------------------

FORM = {**PERSON, "score": "0"}


def test_the_form_warns_of_a_likely_duplicate_before_saving(client):
    sdr = UserFactory(sdr=True)
    existing = LeadFactory(owner=sdr, email="budi@nusantara.example", company_name="Nusantara")
    client.force_login(sdr)
    # as the e-mail is typed (htmx)
    live = client.get(reverse("leads:duplicates"), {"email": "BUDI@nusantara.example"})
    assert live.status_code == 200
    assert f"#{existing.pk}".encode() in live.content
    assert reverse("leads:detail", args=[existing.pk]).encode() in live.content
    # on submit: the warning, nothing saved, a way to confirm
    response = client.post(reverse("leads:new"), FORM)
    assert response.status_code == 200
    assert b'data-testid="duplicate-warning"' in response.content
    assert b'name="confirm_duplicate"' in response.content
    assert Lead.objects.count() == 1
    # confirmed: the same person is a touch, and the page says so
    response = client.post(reverse("leads:new"), {**FORM, "confirm_duplicate": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("leads:detail", args=[existing.pk])
    assert b"recorded on its history as a touch" in response.content
    assert Lead.objects.count() == 1
    assert existing.events.filter(kind=LeadEvent.Kind.TOUCH).exists()


def test_a_confirmed_likely_duplicate_that_is_another_person_is_created(client):
    sdr = UserFactory(sdr=True)
    LeadFactory(
        owner=sdr,
        first_name="Budi",
        last_name="Wijaya",
        email="b.w@nusantara.example",
        company_domain="nusantara.example",
    )
    client.force_login(sdr)
    warned = client.post(reverse("leads:new"), FORM)
    assert b'data-testid="duplicate-warning"' in warned.content
    created = client.post(reverse("leads:new"), {**FORM, "confirm_duplicate": "1"})
    assert created.status_code == 302
    assert Lead.objects.count() == 2


def test_the_warning_does_not_show_another_rep_s_lead(client):
    LeadFactory(email="budi@nusantara.example", company_name="Secret Co")
    sdr = UserFactory(sdr=True)
    client.force_login(sdr)
    response = client.get(reverse("leads:duplicates"), {"email": "budi@nusantara.example"})
    assert b"a lead you cannot open" in response.content
    assert b"Secret Co" not in response.content


def test_a_new_person_is_saved_at_once(client):
    sdr = UserFactory(sdr=True)
    client.force_login(sdr)
    response = client.post(reverse("leads:new"), FORM)
    assert response.status_code == 302
    assert Lead.objects.get().owner == sdr


def test_the_lead_page_shows_touches_and_the_previous_lead(client):
    sdr = UserFactory(sdr=True)
    old = LeadFactory(owner=sdr, status=S.DISQUALIFIED, email="budi@nusantara.example")
    lead = lead_intake(by=sdr, data=PERSON, via="form", owner=sdr).lead
    lead_intake(by=None, data={**PERSON, "phone": "+62 1"}, via="web_form", form="Webinar Q3")
    client.force_login(sdr)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'data-testid="touch"' in page
    assert "a web form (Webinar Q3)" in page
    assert 'data-testid="previous-lead"' in page
    assert reverse("leads:detail", args=[old.pk]) in page
