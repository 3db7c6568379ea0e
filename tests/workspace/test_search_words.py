"""The name words behind the typo pass (workspace/search_words.py, kept by the triggers of
the migration workspace/0002_search_words): complete whatever writes a name — a save, an
edit, a bulk insert — and the close spellings of a misspelt query drawn from them."""

from __future__ import annotations

import pytest
from django.db import connection

from crm.models import Account
from leads.models import Lead
from tests.factories import (
    AccountFactory,
    ContactFactory,
    LeadFactory,
    OpportunityFactory,
    UserFactory,
)
from workspace.models import SearchWord
from workspace.search import search
from workspace.search_words import refresh_search_words, spellings, words_of

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the typo pass runs on PostgreSQL (pg_trgm)"
    ),
]


def words() -> set[str]:
    return set(SearchWord.objects.values_list("word", flat=True))


def test_every_searched_name_adds_its_words() -> None:
    LeadFactory(company_name="PT Cahaya-Samudra Tbk", first_name="Wulan", last_name="Dari")
    AccountFactory(name="Garuda Kencana")
    ContactFactory(first_name="Yohanes", last_name="Simanjuntak")
    OpportunityFactory(name="Merapi Renewal 2027")

    expected = {"cahaya", "samudra", "tbk", "wulan", "dari", "garuda", "kencana"}
    expected |= {"yohanes", "simanjuntak", "merapi", "renewal", "2027"}
    assert expected <= words()
    assert "pt" not in words()  # shorter than three letters: never corrected


def test_a_bulk_insert_and_a_rename_add_their_words_and_other_updates_add_none() -> None:
    owner = UserFactory(sdr=True)
    Lead.objects.bulk_create(
        LeadFactory.build(owner=owner, company_name=f"Bulkword{n} Raya") for n in range(3)
    )
    account = AccountFactory(name="Old Name")

    Account.objects.filter(pk=account.pk).update(name="Lembayung Senja")
    before = SearchWord.objects.count()
    Lead.objects.update(score=7)  # no searched column changed

    assert {"bulkword0", "bulkword1", "bulkword2", "lembayung", "senja"} <= words()
    assert SearchWord.objects.count() == before


def test_a_word_already_kept_is_not_added_again() -> None:
    LeadFactory(company_name="Kopi Nusantara")
    LeadFactory(company_name="Nusantara Kopi")

    assert SearchWord.objects.filter(word="nusantara").count() == 1


def test_the_refresh_drops_words_no_name_holds_and_duplicates_and_adds_missing_ones() -> None:
    lead = LeadFactory(company_name="Sementara Jaya")
    SearchWord.objects.filter(word="jaya").delete()
    SearchWord.objects.create(word="sementara")  # a duplicate two writers could leave
    Lead.objects.filter(pk=lead.pk).delete()
    LeadFactory(company_name="Jaya Abadi")
    SearchWord.objects.filter(word="jaya").delete()

    dropped, added = refresh_search_words()

    assert "sementara" not in words()
    assert SearchWord.objects.filter(word="jaya").count() == 1
    assert dropped >= 2 and added >= 1


def test_a_misspelt_word_is_spelt_as_its_closest_words_and_a_known_one_is_kept() -> None:
    LeadFactory(company_name="Buana Karya Logistik")
    LeadFactory(company_name="Bumi Karya")

    assert spellings("Buaa Karya")[0] == "buana karya"
    assert spellings("Buana Karya") == []  # every word is a name's word: nothing to fix
    assert spellings("qqzzxxkk") == []


def test_the_words_of_a_query_are_cut_as_the_triggers_cut_names() -> None:
    assert words_of("PT. Cahaya-Samudra, Tbk") == ["pt", "cahaya", "samudra", "tbk"]


def test_a_misspelt_person_is_found_through_the_close_spelling() -> None:
    revops = UserFactory(revops=True)
    lead = LeadFactory(company_name="Lain Lain", first_name="Kartika", last_name="Wijaya")

    results = search(revops, "Kartka Wijaya")

    assert results.similar is True
    assert [hit.id for group in results.groups for hit in group.hits] == [lead.pk]
    assert "kartika wijaya" in results.spelt_as


def test_the_nightly_task_runs_the_refresh() -> None:
    from django.conf import settings

    from workspace.tasks import refresh_search_words_task

    LeadFactory(company_name="Sementara Jaya")
    Lead.objects.all().delete()

    assert refresh_search_words_task.delay().get()["dropped"] >= 2
    assert "sementara" not in words()
    entry = settings.CELERY_BEAT_SCHEDULE["search-words-refresh"]
    assert entry["task"] == refresh_search_words_task.name
