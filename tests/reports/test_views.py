"""The dashboard and report pages: scope, constant query count, drill-downs that list
exactly the rows behind each number, CSV of every table, the RevOps benchmark page."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports import rollups
from reports.models import BenchmarkRange
from tests.factories import LeadFactory, UserFactory
from tests.reports import world

pytestmark = pytest.mark.django_db

PAGES = [
    "/dashboard/",
    "/reports/conversion/",
    "/reports/funnel/?by=owner",
    "/reports/quality/?by=ae",
    "/reports/pipeline/?by=team",
    "/reports/sla/?by=source",
    "/reports/feedback/",
]
DRILL = re.compile(r'<a class="drill" href="([^"]+)"[^>]*>([^<]+)</a>')


@pytest.fixture
def w():
    return world.people()


def test_anonymous_is_sent_to_login(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_for_every_role(client, w, revops, page):
    world.build(w)
    for user in (revops, w.manager, w.sdr, w.ae):
        client.force_login(user)
        response = client.get(page)
        assert response.status_code == 200, (user, page)


def test_dashboard_shows_charts_tables_and_definitions(client, w, revops):
    world.build(w)
    client.force_login(revops)
    html = client.get("/dashboard/").content.decode()
    for chart in ("conversion", "funnel", "stages", "forecast", "times", "sla"):
        assert f'data-chart="{chart}"' in html
    assert 'hx-get="/dashboard/speed/?' in html
    assert 'id="report-charts"' in html
    assert "Cohort: the leads created in the period" in html
    assert 'id="table-conversion"' in html and 'aria-describedby="table-conversion"' in html


@pytest.mark.parametrize("rolled", [False, True], ids=["source-rows", "rollups"])
@pytest.mark.parametrize("page", [*PAGES, "/dashboard/speed/"])
def test_query_count_does_not_grow_with_the_data(
    client, w, revops, django_assert_max_num_queries, page, rolled
):
    world.build(w, scale=1)
    if rolled:
        rollups.refresh()
    client.force_login(revops)
    client.get(page)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as small:
        assert client.get(page).status_code == 200
    world.build(w, scale=6)
    if rolled:
        rollups.refresh()
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(page).status_code == 200
    assert len(small.captured_queries) <= 40


@pytest.mark.parametrize("rolled", [False, True], ids=["source-rows", "rollups"])
@pytest.mark.parametrize("who", ["revops", "manager"])
def test_every_drill_link_lists_exactly_the_rows_counted(client, w, revops, who, rolled):
    world.build(w, scale=2)
    if rolled:
        rollups.refresh()
    user = revops if who == "revops" else w.manager
    client.force_login(user)
    html = client.get("/dashboard/").content.decode()
    html += client.get("/dashboard/speed/").content.decode()
    links = {(unescape(href), text.strip()) for href, text in DRILL.findall(html)}
    checked = 0
    for href, text in sorted(links):
        if not re.fullmatch(r"\d+", text):
            continue  # rates and amounts link to the same lists as their counts
        rows = _count_rows(client, href)
        assert rows == int(text), (href, text, rows)
        checked += 1
    assert checked > 50


def _count_rows(client, url: str) -> int:
    total = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        total += body.count('data-testid="drill-row"')
        match = re.search(r'href="([^"]+)" rel="next"', body)
        url = unescape(match.group(1)) if match else ""
        if url.startswith("?"):
            url = response.request["PATH_INFO"] + url
    return total


@pytest.mark.parametrize("page", [*PAGES, "/dashboard/speed/"])
def test_csv_of_every_table_on_every_page(client, w, revops, page):
    world.build(w)
    client.force_login(revops)
    html = client.get(page).content.decode()
    table_ids = re.findall(r'data-testid="table-([\w]+)"', html)
    assert table_ids, page
    joiner = "&" if "?" in page else "?"
    for table_id in table_ids:
        response = client.get(f"{page}{joiner}format=csv&table={table_id}")
        assert response.status_code == 200, (page, table_id)
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert len(rows) >= 2, (page, table_id)
    assert client.get(f"{page}{joiner}format=csv&table=nope").status_code == 404


def test_dashboard_csv_columns(client, w, revops):
    world.build(w)
    client.force_login(revops)
    conversion = client.get("/dashboard/?format=csv&table=conversion").content.decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(conversion)))
    assert header == [
        "Source", "Leads", "Converted", "Rate (%)", "Benchmark from (%)", "Benchmark to (%)",
        "Against benchmark", "Reading",
    ]  # fmt: skip


def test_drill_csv_streams_the_whole_list(client, w, revops):
    world.build(w)
    client.force_login(revops)
    response = client.get(
        "/reports/drill/leads/?period=90d&cohort=created&measure=converted&format=csv"
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "company", "name"]
    assert len(rows) == 1 + 9


def test_drill_rejects_unknown_measures_and_groups(client, revops):
    client.force_login(revops)
    assert client.get("/reports/drill/leads/?cohort=created&measure=bogus").status_code == 404
    assert client.get("/reports/drill/leads/?cohort=bogus&measure=leads").status_code == 404
    assert (
        client.get("/reports/drill/leads/?cohort=created&measure=leads&g_team=x").status_code == 404
    )
    assert client.get("/reports/drill/nothing/").status_code == 404


def test_drill_keyset_pagination_walks_every_row_once(client, revops):
    leads = LeadFactory.create_batch(120)
    client.force_login(revops)
    seen: list[str] = []
    url = "/reports/drill/leads/?period=30d&cohort=created&measure=leads"
    pages = 0
    while url:
        body = client.get(url).content.decode()
        seen += re.findall(r'href="/leads/(\d+)/"', body)
        match = re.search(r'href="([^"]+)" rel="next"', body)
        url = "/reports/drill/leads/" + unescape(match.group(1)) if match else ""
        pages += 1
    assert pages == 3
    assert sorted(map(int, seen)) == sorted(lead.pk for lead in leads)


def test_rep_sees_only_their_own_figures(client, w):
    world.build(w)
    client.force_login(w.other_sdr)
    html = client.get("/reports/conversion/").content.decode()
    assert "Your own figures" in html
    response = client.get("/api/v1/reports/conversion-by-source/")
    body = response.json()
    assert body["overall"]["leads"] == 6  # one source, six leads of their own
    assert [r["leads"] for r in body["rows"] if r["source"] == "outbound"] == [6]


def test_bad_filters_fall_back_to_the_default_with_a_message(client, revops):
    client.force_login(revops)
    html = client.get("/dashboard/?start=2026-05-01&end=2026-04-01").content.decode()
    assert "The end date is before the start date." in html


def test_revops_edits_benchmarks_others_may_not(client, revops, manager):
    client.force_login(manager)
    assert client.get("/reports/benchmarks/").status_code == 403
    client.force_login(revops)
    page = client.get("/reports/benchmarks/")
    assert page.status_code == 200
    ranges = list(BenchmarkRange.objects.order_by("source"))
    data = {
        "form-TOTAL_FORMS": str(len(ranges) + 1),
        "form-INITIAL_FORMS": str(len(ranges)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "pipeline_to_won_low": "2.5",
        "pipeline_to_won_high": "4",
    }
    for i, item in enumerate(ranges):
        data |= {
            f"form-{i}-id": str(item.pk),
            f"form-{i}-source": item.source,
            f"form-{i}-low_percent": str(item.low_percent),
            f"form-{i}-high_percent": "30" if item.source == "inbound" else str(item.high_percent),
        }
    n = len(ranges)
    data |= {
        f"form-{n}-source": "partner",
        f"form-{n}-low_percent": "10",
        f"form-{n}-high_percent": "20",
    }
    response = client.post("/reports/benchmarks/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert BenchmarkRange.objects.get(source="inbound").high_percent == 30
    assert BenchmarkRange.objects.get(source="partner").low_percent == 10
    # low above high is refused
    data[f"form-{n}-source"] = ""
    data["form-0-low_percent"], data["form-0-high_percent"] = "50", "10"
    assert client.post("/reports/benchmarks/", data).status_code == 400


def test_dashboard_nav_item_for_every_role(client, revops):
    for user in (revops, UserFactory(sdr=True), UserFactory(ae=True), UserFactory(manager=True)):
        client.force_login(user)
        assert 'href="/dashboard/"' in client.get("/").content.decode()
