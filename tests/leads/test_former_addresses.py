"""A lead keeps the e-mail addresses it had: after a merge that kept the duplicate's
address, an import that overwrote it, or an edit, the person is still found by the old
one, so it never starts a second open lead (DOMAIN.md: one person, one live lead)."""

from __future__ import annotations

import pytest

from leads import services
from leads.duplicates import find_duplicates
from leads.models import Lead, LeadAddress
from leads.services.bulk_intake import leads_bulk_intake
from leads.services.bulk_rows import BulkRow
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

PERSON = {
    "company_name": "PT Nusantara Logistik",
    "first_name": "Budi",
    "last_name": "Wijaya",
    "source": "inbound",
}
WORK, PRIVATE = "budi@nusantara.example", "budi.wijaya@gmail.com"


@pytest.fixture
def boss(db):
    return UserFactory(manager=True)


@pytest.fixture
def rep(boss):
    return UserFactory(sdr=True, team=TeamFactory(manager=boss))


@pytest.fixture
def merged(rep, boss) -> Lead:
    """Budi's two leads merged, keeping the duplicate's (private) address."""
    survivor = services.lead_create(by=rep, data={**PERSON, "email": WORK}, owner=rep)
    duplicate = services.lead_create(by=rep, data={**PERSON, "email": PRIVATE}, owner=rep)
    services.lead_merge(
        by=boss, survivor=survivor.pk, duplicate=duplicate.pk, values={"email": "duplicate"}
    )
    survivor.refresh_from_db()
    assert survivor.email == PRIVATE
    return survivor


def _open_leads() -> int:
    return Lead.objects.open().count()


def test_a_merge_keeps_the_survivors_own_address(merged):
    assert list(LeadAddress.objects.values_list("lead", "email")) == [(merged.pk, WORK)]
    before = _open_leads()
    # Budi fills in a web form with his work address again, in another case
    result = services.lead_intake(
        by=None, data={**PERSON, "email": "Budi@Nusantara.example"}, via="web_form"
    )
    assert (result.outcome, result.lead.pk) == ("deduplicated", merged.pk)
    assert _open_leads() == before


def test_an_import_finds_the_person_by_a_former_address(merged, rep):
    before = _open_leads()
    result = leads_bulk_intake(
        rows=[BulkRow(data={**PERSON, "email": WORK, "job_title": "COO"})],
        by=rep,
        on_duplicate="fill",
    )
    [outcome] = result.outcomes
    assert (outcome.outcome, outcome.lead_id) == ("updated", merged.pk)
    assert _open_leads() == before
    merged.refresh_from_db()
    assert (merged.email, merged.job_title) == (PRIVATE, "COO")


def test_an_overwrite_keeps_the_address_it_replaced(rep, boss):
    # Budi's two leads merged, keeping the survivor's work address
    survivor = services.lead_create(by=rep, data={**PERSON, "email": WORK}, owner=rep)
    duplicate = services.lead_create(by=rep, data={**PERSON, "email": PRIVATE}, owner=rep)
    services.lead_merge(by=boss, survivor=survivor.pk, duplicate=duplicate.pk)
    assert not LeadAddress.objects.exists()
    # a file of the private address, imported to overwrite: found through the merged lead
    result = leads_bulk_intake(
        rows=[BulkRow(data={**PERSON, "email": PRIVATE})], by=rep, on_duplicate="overwrite"
    )
    assert [(o.outcome, o.lead_id) for o in result.outcomes] == [("updated", survivor.pk)]
    survivor.refresh_from_db()
    assert survivor.email == PRIVATE
    # the work address it replaced still finds Budi
    assert list(LeadAddress.objects.values_list("lead", "email")) == [(survivor.pk, WORK)]
    result = services.lead_intake(by=None, data={**PERSON, "email": WORK}, via="webhook")
    assert (result.outcome, result.lead.pk) == ("deduplicated", survivor.pk)


def test_the_duplicate_warning_and_the_merge_page_see_former_addresses(merged, boss):
    found = find_duplicates({**PERSON, "company_name": "Other", "email": WORK})
    assert [lead.pk for lead in found] == [merged.pk]


def test_an_address_is_kept_once_and_a_case_change_is_no_new_address(rep):
    lead = services.lead_create(by=rep, data={**PERSON, "email": WORK}, owner=rep)
    services.lead_update(lead_id=lead.pk, by=rep, data={"email": WORK.upper()})
    assert not LeadAddress.objects.exists()
    services.lead_update(lead_id=lead.pk, by=rep, data={"email": PRIVATE})
    services.lead_update(lead_id=lead.pk, by=rep, data={"email": WORK})
    services.lead_update(lead_id=lead.pk, by=rep, data={"email": PRIVATE})
    assert sorted(LeadAddress.objects.values_list("email", flat=True)) == [PRIVATE, WORK]


def test_the_lead_page_lists_the_former_addresses_but_not_the_current_one(merged, rep, client):
    services.lead_update(lead_id=merged.pk, by=rep, data={"email": WORK})  # back to work
    client.force_login(rep)
    page = client.get(f"/leads/{merged.pk}/").content.decode()
    former = page.split('data-testid="former-addresses"', 1)[1].split("</dd>", 1)[0]
    assert PRIVATE in former and WORK not in former


def test_the_merged_away_lead_page_says_it_is_read_only(merged, boss, client):
    duplicate = Lead.objects.get(merged_into=merged)
    client.force_login(boss)
    page = client.get(f"/leads/{duplicate.pk}/").content.decode()
    assert 'data-testid="qualification-read-only"' in page
    assert f"merged into lead #{merged.pk}" in page
    assert "Log the first call" not in page and "Save qualification" not in page
    survivor_page = client.get(f"/leads/{merged.pk}/").content.decode()
    assert "Save qualification" in survivor_page
    assert 'data-testid="qualification-read-only"' not in survivor_page


def test_the_merged_away_lead_reads_merged_and_its_move_shows_once(merged, boss, client):
    duplicate = Lead.objects.get(merged_into=merged)
    client.force_login(boss)
    page = client.get(f"/leads/{duplicate.pk}/").content.decode()
    header = page.split('class="lead-title-row"', 1)[1].split("</div>", 1)[0]
    assert "status-merged" in header and "Disqualified" not in header
    history = page.split('id="history"', 1)[1]
    # the move to disqualified: the transition's entry, not again inside the merge's
    assert history.count("status-disqualified") == 1
    assert '<span class="change-field">Status</span>' not in history


@pytest.mark.parametrize(
    ("territory", "country", "shown"),
    [("APAC", "SG", "APAC, Singapore"), ("Indonesia", "ID", "Indonesia"), ("", "DE", "Germany")],
)
def test_the_region_names_the_country(rep, client, territory, country, shown):
    lead = services.lead_create(by=rep, data={**PERSON, "email": WORK}, owner=rep)
    Lead.objects.filter(pk=lead.pk).update(territory=territory, country=country)
    client.force_login(rep)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert page.split('data-testid="region">', 1)[1].split("</dd>", 1)[0] == shown
