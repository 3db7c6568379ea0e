import pytest
from django.db import IntegrityError, transaction

from crm.models import Account, Contact, normalize_company_name, normalize_domain
from leads.models import Lead
from tests.factories import LeadFactory, OpportunityFactory


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.Acme.com/about", "acme.com"),
        ("acme.com", "acme.com"),
        ("WWW.ACME.COM.", "acme.com"),
        ("jane@acme.com", "acme.com"),
        ("http://sub.acme.co.id:8080/x", "sub.acme.co.id"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_domain(raw, expected):
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("PT Acme Indonesia, Tbk.", "acme indonesia"),
        ("Acme Indonesia", "acme indonesia"),
        ("ACME   Inc.", "acme"),
        ("Brightwave Analytics GmbH", "brightwave analytics"),
    ],
)
def test_normalize_company_name(raw, expected):
    assert normalize_company_name(raw) == expected


@pytest.mark.django_db
def test_accounts_are_unique_on_normalized_domain():
    Account.objects.create(name="Acme", domain="https://www.acme.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(name="Acme Corporation", domain="ACME.com")


@pytest.mark.django_db
def test_accounts_without_domain_are_unique_on_normalized_name():
    Account.objects.create(name="PT Nusantara Logistik")
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(name="Nusantara Logistik, PT")
    # The same name with a distinct domain is a different company (another country, say).
    Account.objects.create(name="Nusantara Logistik", domain="nusantara.co.id")


@pytest.mark.django_db
def test_contacts_are_unique_on_lower_cased_email():
    Contact.objects.create(last_name="Tan", email="Budi@Acme.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(last_name="Tan", email="budi@acme.com")


@pytest.mark.django_db
def test_lead_score_is_checked_in_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadFactory(score=101)


@pytest.mark.django_db
def test_a_converted_lead_needs_its_conversion_time():
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadFactory(status=Lead.Status.CONVERTED, converted_at=None)


@pytest.mark.django_db
def test_one_opportunity_per_lead():
    lead = LeadFactory()
    OpportunityFactory(lead=lead)
    with pytest.raises(IntegrityError), transaction.atomic():
        OpportunityFactory(lead=lead)


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["0", "-5"])
def test_opportunity_amount_must_be_positive(amount):
    with pytest.raises(IntegrityError), transaction.atomic():
        OpportunityFactory(amount=amount)


@pytest.mark.django_db
def test_opportunity_currency_must_be_iso_code():
    with pytest.raises(IntegrityError), transaction.atomic():
        OpportunityFactory(currency="usd")
