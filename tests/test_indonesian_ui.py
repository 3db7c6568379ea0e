"""The main pages in Bahasa Indonesia, as a user who chose it in their personal settings
(or whose browser asks for it) sees them: Indonesian text, `<html lang="id">`, numbers and
money written the Indonesian way, and no sentence of the English UI left over.

The leftover check reads the catalog itself: every translated msgid of three words or more
must not appear verbatim in the page. It catches text marked for translation but turned
into English too early (a module-level `gettext` instead of `gettext_lazy`, a label
computed at import time) as well as templates rendered outside the active language."""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.test import Client
from django.urls import reverse

from crm.models import User
from reports.rollups.refresh import refresh
from tests.factories import (
    ActivityFactory,
    ContactRoleFactory,
    ConvertibleLeadFactory,
    LeadFactory,
    OpportunityFactory,
    UserFactory,
)
from tests.reports import world

pytestmark = pytest.mark.django_db

PO = Path(settings.LOCALE_PATHS[0]) / "id" / "LC_MESSAGES" / "django.po"


@functools.cache
def english_sentences() -> frozenset[str]:
    """Translated msgids of three words or more whose Indonesian differs, without
    placeholders or markup: what an Indonesian page must never show."""
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="id")
    sentences = set()
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or not message.string or message.fuzzy:
            continue
        text = message.id
        if text == message.string or len(text.split()) < 3 or re.search(r"[%{<]", text):
            continue
        sentences.add(text)
    return frozenset(sentences)


def indonesian(user: User) -> User:
    user.language = "id"
    user.save(update_fields=["language"])
    return user


# What a browser accepts in a date, month or date-and-time field, whatever the language.
MACHINE_VALUE = {
    "date": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "month": re.compile(r"\d{4}-\d{2}"),
    "datetime-local": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?"),
}
INPUT = re.compile(r"<input\b[^>]*>")


def get(client: Client, user: User, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    page = response.content.decode()
    assert '<html lang="id"' in page, url
    assert_machine_dates(page, url)
    return page


def assert_machine_dates(page: str, url: str) -> None:
    """Indonesian formats write 31-01-2027; a type="date" field given that shows nothing."""
    for tag in INPUT.findall(page):
        kind = re.search(r'type="([\w-]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if kind and value and value.group(1) and kind.group(1) in MACHINE_VALUE:
            pattern = MACHINE_VALUE[kind.group(1)]
            assert pattern.fullmatch(value.group(1)), f"{url}: {tag}"


def assert_no_english(page: str, url: str) -> None:
    text = html.unescape(page)
    leftovers = sorted(s for s in english_sentences() if s in text)
    assert leftovers == [], f"English left on {url}: {leftovers[:10]}"


@pytest.fixture
def sdr_id(sdr: User) -> User:
    return indonesian(sdr)


@pytest.fixture
def ae_id(ae: User) -> User:
    return indonesian(ae)


def test_my_work_lead_queue_and_lead_page_for_an_sdr(client: Client, sdr_id: User) -> None:
    lead = LeadFactory(owner=sdr_id, company_name="PT Kopi Nusantara")
    ActivityFactory(lead=lead, owner=sdr_id)
    pages = {
        "/": ["Pekerjaan saya", "Marketing-qualified lead", "Keluar"],
        reverse("leads:list"): ["Antrean lead", "Saring lead", "Terapkan"],
        reverse("leads:detail", args=[lead.pk]): ["Kualifikasi", "Riwayat", "Catat aktivitas"],
        reverse("leads:new"): ["Lead baru", "Perusahaan", "Buat lead"],
    }
    for url, expected in pages.items():
        page = get(client, sdr_id, url)
        for text in expected:
            assert text in page, (url, text)
        assert_no_english(page, url)


def test_conversion_wizard_board_and_deal_for_an_ae(client: Client, sdr: User, ae_id: User) -> None:
    lead = ConvertibleLeadFactory(owner=sdr, ae=ae_id, company_name="PT Logistik Jaya")
    deal = OpportunityFactory(owner=ae_id, amount="1250000.00", currency="USD")
    ContactRoleFactory(opportunity=deal)
    pages = {
        reverse("opportunities:convert", args=[lead.pk]): [
            "Konversikan PT Logistik Jaya",
            "Siap dikonversi?",
            "Akun dan kontak",
        ],
        reverse("opportunities:board"): ["Probabilitas default", "Saring papan"],
        reverse("opportunities:list"): ["Saring peluang", "Terbaru lebih dulu"],
        # Money in Indonesian: "." groups thousands, "," marks the cents.
        reverse("opportunities:detail", args=[deal.pk]): ["US$1.250.000,00", "Riwayat tahap"],
    }
    for url, expected in pages.items():
        page = get(client, ae_id, url)
        for text in expected:
            assert text in page, (url, text)
        assert_no_english(page, url)


def test_dashboard_reports_and_sla_for_a_manager(client: Client) -> None:
    w = world.people()
    world.build(w)
    refresh(full=True)
    manager = indonesian(w.manager)
    pages = {
        reverse("reports:dashboard"): ["Dasbor lead ke peluang", "Angka utama", "Tingkat konversi"],
        reverse("reports:pipeline"): ["Pipeline terbuka per tahap"],
        reverse("reports:sla"): ["Waktu respons"],
        "/sla/": ["Ikhtisar SLA", "Terlambat sekarang"],
        reverse("notifications:list"): ["Notifikasi"],
    }
    for url, expected in pages.items():
        page = get(client, manager, url)
        for text in expected:
            assert text in page, (url, text)
        assert_no_english(page, url)


def test_settings_pages_for_revops(client: Client, revops: User) -> None:
    indonesian(revops)
    for url, text in {
        "/settings/": "Pengaturan",
        reverse("leads:settings_routing"): "Aturan routing",
        reverse("opportunities:settings-stages"): "Tahap pipeline",
    }.items():
        page = get(client, revops, url)
        assert text in page, url
        assert_no_english(page, url)


def test_the_browser_language_decides_without_a_preference(client: Client) -> None:
    """Signed out (or with the preference blank), Accept-Language picks Indonesian."""
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="id-ID,id;q=0.9,en;q=0.5")
    text = page.content.decode()
    assert '<html lang="id"' in text
    assert "Nama pengguna" in text and "Kata sandi" in text and ">Masuk<" in text
    assert_no_english(text, "/login/")

    user = UserFactory(sdr=True, username="browser-id")
    client.force_login(user)
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert "Pekerjaan saya" in home
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "My work" in english and "Pekerjaan saya" not in english


def test_the_javascript_catalog_serves_the_chosen_language(client: Client, sdr_id: User) -> None:
    client.force_login(sdr_id)
    page = client.get("/").content.decode()
    src = re.search(r'<script src="(/jsi18n/[^"]*)"', page)
    assert src is not None, "templates/base.html loads the JavaScript catalog"
    script = client.get(html.unescape(src.group(1)))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("text/javascript")
    # Django's formats for Indonesian come with it: the decimal mark is a comma.
    assert '"DECIMAL_SEPARATOR": ","' in script.content.decode()
