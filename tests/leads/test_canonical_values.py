"""A country and a source read the same through every channel: "Indonesia" is ID and
"Inbound" is inbound in the browser, the API and the webhook's intake, as in an import;
a value that names nothing is refused naming its field, never cut short."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from crm.countries import country_code
from leads import gate, services
from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

PERSON = {"company_name": "Kopi Kita", "last_name": "Tan", "email": "mei@kopi.example"}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("ID", "ID"),
        ("id", "ID"),
        (" Indonesia ", "ID"),
        ("united states", "US"),
        ("USA", "US"),
        ("Viet-Nam", "VN"),
        ("Deutschland", "DE"),
        ("Jerman", "DE"),  # Indonesian, read whatever the page's language
        ("cote d'ivoire", "CI"),  # accents and apostrophes do not matter
        ("U.S.A.", "US"),
        ("", ""),
        ("Atlantis", None),
        ("XX", None),
    ],
)
def test_country_code(text, code):
    assert country_code(text) == code


def test_a_country_s_name_in_the_users_language():
    with translation.override("id"):
        assert country_code("Jerman") == "DE"  # German, in Indonesian


def test_canonical_source_and_country():
    values = gate.canonical({**PERSON, "source": " Inbound ", "country": "indonesia"})
    assert (values["source"], values["country"]) == ("inbound", "ID")
    assert gate.canonical({"source": "Event / webinar"})["source"] == "event"  # the label
    assert gate.canonical({"source": "fax"})["source"] == "fax"  # named by the rules


def test_the_api_reads_names_and_refuses_what_names_nothing(revops):
    api = APIClient()
    api.force_authenticate(revops)
    response = api.post(
        "/api/v1/leads/",
        {**PERSON, "source": "Inbound", "country": "Indonesia"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert (response.json()["source"], response.json()["country"]) == ("inbound", "ID")
    refused = api.post(
        "/api/v1/leads/",
        {**PERSON, "email": "x@y.example", "source": "inbound", "country": "Atlantis"},
        format="json",
    )
    assert refused.status_code == 400
    [error] = refused.json()["errors"]
    assert (error["code"], error["field"]) == ("invalid_country", "country")
    assert "“Atlantis” is not a country" in error["message"]


def test_the_lead_form_offers_countries_by_name(client, revops):
    client.force_login(revops)
    page = client.get(reverse("leads:new")).content.decode()
    assert '<option value="ID">Indonesia</option>' in page
    assert 'maxlength="2"' not in page
    response = client.post(
        reverse("leads:new"), {**PERSON, "source": "inbound", "country": "ID", "score": 0}
    )
    assert response.status_code == 302
    assert Lead.objects.get(email=PERSON["email"]).country == "ID"


def test_an_old_code_the_list_lacks_stays_editable(client, revops):
    lead = LeadFactory(country="XK")  # stored before: kept among the choices
    client.force_login(revops)
    page = client.get(reverse("leads:edit", args=[lead.pk])).content.decode()
    assert '<option value="XK" selected>' in page


def test_an_edit_reads_a_name_too(revops):
    lead = LeadFactory(country="")
    services.lead_update(lead_id=lead.pk, by=revops, data={"country": "Singapore"})
    lead.refresh_from_db()
    assert lead.country == "SG"
