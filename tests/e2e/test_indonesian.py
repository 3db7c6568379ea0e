"""Threshold in Bahasa Indonesia, in a real browser: the people who chose Indonesian in
their personal settings sign in on the Indonesian sign-in page and work My work, the lead
queue, a lead, the conversion wizard and the dashboard, at 1440 px and at 390 px (a phone).

Screenshots go to /tmp/shots/id/ (THRESHOLD_SHOTS_DIR overrides it) to be looked at:
Indonesian runs longer than English, so every page is also checked for text that no
longer fits: no horizontal scrolling of the page, no button, badge, tab or label whose
text is cut off or spills out of it."""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from crm.models import User
from demo.seed import seed_demo
from leads.models import Lead
from reports.rollups.refresh import refresh
from tests.factories import (
    ActivityFactory,
    ConvertibleLeadFactory,
    LeadFactory,
    QualificationFactory,
)

pytestmark = pytest.mark.e2e

SHOTS = Path(os.environ.get("THRESHOLD_SHOTS_DIR", "/tmp/shots/id"))
DEMO_PASSWORD = "threshold-demo"
VIEWPORTS = {"desktop": {"width": 1440, "height": 900}, "mobile": {"width": 390, "height": 844}}

# Text that no longer fits its box. Page-level sideways scrolling; and controls whose text
# overflows them, or that stick out of their parent (a table or the board scrolls inside
# its own frame: what is inside it may extend, the frame itself may not).
OVERFLOWS = """(KNOWN) => {
  const problems = [];
  const root = document.documentElement;
  const scrolls = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const x = getComputedStyle(p).overflowX;
      if (x === "auto" || x === "scroll") return true;
    }
    return false;
  };
  if (root.scrollWidth > root.clientWidth + 1) {
    // Name the innermost elements that stick out, so the failure says what to fix.
    const wide = [...document.body.querySelectorAll("*")].filter(
      (el) => el.getBoundingClientRect().right > root.clientWidth + 1 && !scrolls(el) &&
        ![...el.children].some((c) => c.getBoundingClientRect().right > root.clientWidth + 1),
    );
    const names = wide.slice(0, 3).map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
    problems.push(`page scrolls sideways: ${root.scrollWidth} > ${root.clientWidth} (${names})`);
  }
  const selector = "button, .btn, .badge, .nav-link, .form-label, label, h1, h2, .card-header";
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (el.closest("[hidden], template, .visually-hidden")) continue;
    const text = (el.innerText || "").trim().slice(0, 60);
    if (!text) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      const how = getComputedStyle(el).overflowX === "visible" ? "spills out" : "cut off";
      problems.push(`${how}: "${text}" (${el.scrollWidth} > ${el.clientWidth})`);
    } else if (!scrolls(el) && box.right > root.clientWidth + 1) {
      problems.push(`off the screen: "${text}" (right edge ${Math.round(box.right)})`);
    }
  }
  // Chips and buttons side by side must not run into each other.
  const shown = (el) =>
    el.getBoundingClientRect().width > 0 && (el.innerText || "").trim() !== "" &&
    !el.closest("[hidden], template, .dropdown-menu, details:not([open]) > :not(summary)");
  const chipSelector = ".badge, .crit-badge, .crit-tag, .btn";
  const chips = [...document.querySelectorAll(chipSelector)].filter(shown);
  for (let i = 0; i < chips.length; i++) {
    const a = chips[i].getBoundingClientRect();
    for (let j = i + 1; j < chips.length; j++) {
      if (chips[i].contains(chips[j]) || chips[j].contains(chips[i])) continue;
      if (KNOWN.some(([x, y]) => chips[i].matches(x) && chips[j].matches(y))) continue;
      const b = chips[j].getBoundingClientRect();
      const dx = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const dy = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (dx > 1 && dy > 1) {
        const names = [chips[i], chips[j]].map((el) => el.innerText.trim().slice(0, 30));
        problems.push(`overlap: "${names[0]}" and "${names[1]}" (${Math.round(dx)} px)`);
      }
    }
  }
  return problems;
}"""

# Overlaps to fix in CSS rather than in words: at 390 px a criterion's name and its SQL tag
# do not wrap (static/css/leads.css `.crit-name` needs `flex-wrap: wrap`), so a long name
# ("Kebutuhan" for Need) pushes the tag under the status badge. Drop the entry once fixed.
KNOWN_OVERLAPS: list[list[str]] = []


@pytest.fixture
def world(transactional_db) -> dict[str, object]:
    """The demo company (a few hundred leads), its SDR, AE and manager reading Indonesian,
    and one lead ready to convert. The transactional flush emptied the rows the data
    migrations wrote, so those come back first."""
    editor = SimpleNamespace(connection=connection)  # all the migrations' `create` reads
    for module in (
        "opportunities.migrations.0002_default_stages",
        "leads.migrations.0003_default_rejection_reasons",
        "reports.migrations.0002_default_benchmarks",
        "sla.migrations.0002_default_policies",
    ):
        importlib.import_module(module).create(django_apps, editor)
    seed_demo(leads=400, seed=11, force=True)
    refresh(full=True)
    people = {u.username: u for u in User.objects.filter(username__in=["sdr", "ae", "manager"])}
    for user in people.values():
        user.language, user.theme = "id", "light"
        user.save(update_fields=["language", "theme"])
    ready = ConvertibleLeadFactory(
        owner=people["sdr"],
        ae=people["ae"],
        company_name="PT Sinar Logistik Nusantara",
        company_domain="sinarlogistik.co.id",
        first_name="Dewi",
        last_name="Anggraini",
        email="dewi@sinarlogistik.co.id",
        industry="Logistik",
    )
    # A lead she is qualifying: budget confirmed, need in progress, the rest unknown.
    worked = LeadFactory(
        owner=people["sdr"],
        status=Lead.Status.SAL,
        company_name="PT Kopi Kenangan Sejahtera",
        company_domain="kopikenangan.co.id",
        first_name="Rina",
        last_name="Wulandari",
        email="rina@kopikenangan.co.id",
        phone="+62 812 5550 1234",
        industry="Makanan dan minuman",
        employee_count=240,
    )
    QualificationFactory(
        lead=worked,
        budget_status="confirmed",
        budget_evidence="CFO menyetujui Rp1,2 miliar untuk siklus Q3.",
        need_status="in_progress",
        need_evidence="Respons lead dari 40 outlet lambat; belum dikuantifikasi.",
    )
    ActivityFactory(lead=worked, owner=people["sdr"], subject="Panggilan kualifikasi")
    return {**people, "ready": ready, "lead": worked}


def _page(browser: Browser, viewport: str) -> Page:
    # The browser asks for Indonesian too: the sign-in page follows it (no user yet).
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="id-ID")
    context.set_default_timeout(15_000)
    return context.new_page()


def _sign_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    expect(page.locator("html")).to_have_attribute("lang", "id")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("button", name="Keluar")).to_be_visible()


def _shoot(page: Page, name: str, viewport: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{viewport}.png"), full_page=True)
    problems = page.evaluate(OVERFLOWS, KNOWN_OVERLAPS)
    assert problems == [], f"{name} at {viewport}: {problems}"


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_the_main_pages_in_indonesian(browser: Browser, live_server, world, viewport: str) -> None:
    page = _page(browser, viewport)
    page.goto(f"{live_server.url}/login/")
    expect(page.get_by_role("heading", name="Threshold")).to_be_visible()
    expect(page.get_by_text("Kualifikasi lead, serahkan, dan konversikan")).to_be_visible()
    _shoot(page, "01-masuk", viewport)

    # the SDR: My work, the queue, a lead she works
    _sign_in(page, live_server, "sdr")
    expect(page.get_by_role("heading", name="Pekerjaan saya")).to_be_visible()
    _shoot(page, "02-pekerjaan-saya", viewport)

    page.goto(f"{live_server.url}{reverse('leads:list')}")
    expect(page.get_by_role("heading", name="Antrean lead")).to_be_visible()
    expect(page.get_by_role("button", name="Terapkan")).to_be_visible()
    _shoot(page, "03-antrean-lead", viewport)

    lead = world["lead"]
    page.goto(f"{live_server.url}{reverse('leads:detail', args=[lead.pk])}")
    expect(page.get_by_role("heading", name="Kualifikasi", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("^Riwayat"))).to_be_visible()
    _shoot(page, "04-halaman-lead", viewport)
    page.context.close()

    # the AE: the conversion wizard
    page = _page(browser, viewport)
    _sign_in(page, live_server, "ae")
    ready = world["ready"]
    page.goto(f"{live_server.url}{reverse('opportunities:convert', args=[ready.pk])}")
    expect(
        page.get_by_role("heading", name="Konversikan PT Sinar Logistik Nusantara")
    ).to_be_visible()
    expect(page.get_by_test_id("verdict")).to_have_text(re.compile("Siap"))
    _shoot(page, "05-wizard-konversi", viewport)
    page.context.close()

    # the manager: the dashboard, charts drawn with Indonesian labels and numbers
    page = _page(browser, viewport)
    _sign_in(page, live_server, "manager")
    page.goto(f"{live_server.url}{reverse('reports:dashboard')}")
    expect(page.get_by_role("heading", name="Dasbor lead ke peluang")).to_be_visible()
    page.wait_for_function("() => document.querySelector('canvas[data-rendered=\"true\"]')")
    _shoot(page, "06-dasbor", viewport)
    page.context.close()
