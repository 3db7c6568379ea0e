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

from reports.models import BenchmarkChange, BenchmarkRange, ReportPolicy
from reports.rollups.refresh import refresh
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
# Pages for RevOps and managers, and the campaign breakdowns (beside the pages above).
MORE_PAGES = [
    "/reports/marketing/",
    "/reports/marketing/?by=campaign",
    "/reports/conversion/?by=campaign",
    "/reports/funnel/?by=campaign",
    "/reports/feedback/?by=campaign",
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
@pytest.mark.parametrize("page", [*PAGES, "/dashboard/speed/", *MORE_PAGES])
def test_query_count_does_not_grow_with_the_data(
    client, w, revops, django_assert_max_num_queries, page, rolled
):
    world.build(w, scale=1)
    if rolled:
        refresh()
    client.force_login(revops)
    client.get(page)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as small:
        assert client.get(page).status_code == 200
    world.build(w, scale=6)
    if rolled:
        refresh()
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(page).status_code == 200
    assert len(small.captured_queries) <= 40


@pytest.mark.parametrize("rolled", [False, True], ids=["source-rows", "rollups"])
@pytest.mark.parametrize("who", ["revops", "manager"])
def test_every_drill_link_lists_exactly_the_rows_counted(client, w, revops, who, rolled):
    world.build(w, scale=2)
    if rolled:
        refresh()
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


@pytest.mark.parametrize("page", [*PAGES, "/dashboard/speed/", *MORE_PAGES])
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
    assert len(rows) == 1 + 12  # 3 sources × (won, open, lost early, pending approval)


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
    assert body["overall"]["leads"] == 7  # one source, seven leads of their own
    assert [r["leads"] for r in body["rows"] if r["source"] == "outbound"] == [7]


def test_bad_filters_fall_back_to_the_default_with_a_message(client, revops):
    client.force_login(revops)
    html = client.get("/dashboard/?start=2026-05-01&end=2026-04-01").content.decode()
    assert "The end date is before the start date." in html


def _benchmark_post(**thresholds: str) -> dict[str, str]:
    """The benchmarks form as the page sends it: every range and threshold as it is (or
    as `thresholds` says), and a blank new row."""
    ranges = list(BenchmarkRange.objects.order_by("source"))
    policy = ReportPolicy.current()
    data = {
        "form-TOTAL_FORMS": str(len(ranges) + 1),
        "form-INITIAL_FORMS": str(len(ranges)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "pipeline_to_won_low": str(policy.pipeline_to_won_low),
        "pipeline_to_won_high": str(policy.pipeline_to_won_high),
        **thresholds,
    }
    for i, item in enumerate(ranges):
        data |= {
            f"form-{i}-id": str(item.pk),
            f"form-{i}-source": item.source,
            f"form-{i}-low_percent": str(item.low_percent),
            f"form-{i}-high_percent": str(item.high_percent),
        }
    return data


def test_revops_edits_benchmarks_others_may_not(client, revops, manager):
    client.force_login(UserFactory(sdr=True))
    assert client.get("/reports/benchmarks/").status_code == 403
    client.force_login(manager)
    assert client.post("/reports/benchmarks/", _benchmark_post()).status_code == 403
    client.force_login(revops)
    page = client.get("/reports/benchmarks/")
    assert page.status_code == 200
    assert 'data-testid="benchmarks-save"' in page.content.decode()
    data = _benchmark_post(pipeline_to_won_low="2.5", pipeline_to_won_high="4")
    inbound = next(k for k, v in data.items() if v == "inbound").replace("-source", "")
    data[f"{inbound}-high_percent"] = "30"
    n = int(data["form-INITIAL_FORMS"])
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


def test_benchmark_edits_are_audited_and_shown(client, revops, manager):
    # given RevOps raises inbound's upper end, adds a range, deletes one, moves the ratio
    client.force_login(revops)
    data = _benchmark_post(pipeline_to_won_low="2.5")
    rows = {v: k.removesuffix("-source") for k, v in data.items() if k.endswith("-source")}
    old_high = data[f"{rows['inbound']}-high_percent"]
    data[f"{rows['inbound']}-high_percent"] = "30"
    data[f"{rows['outbound']}-DELETE"] = "on"
    n = int(data["form-INITIAL_FORMS"])
    data |= {f"form-{n}-source": "partner", f"form-{n}-low_percent": "10"}
    data[f"form-{n}-high_percent"] = "20"
    old_low = f"{ReportPolicy.current().pipeline_to_won_low:.2f}"

    # when it is saved
    assert client.post("/reports/benchmarks/", data).status_code == 302

    # then one audit row per changed range and one for the thresholds: who, old -> new
    changes = {c.source: c for c in BenchmarkChange.objects.all()}
    assert set(changes) == {"inbound", "outbound", "partner", ""}
    assert all(c.actor == revops for c in changes.values())
    assert changes["inbound"].old == {"high_percent": f"{float(old_high):.2f}"}
    assert changes["inbound"].new == {"high_percent": "30.00"}
    assert changes["outbound"].new == {} and changes["outbound"].benchmark is None
    assert changes["partner"].old == {}
    assert changes["partner"].new == {
        "source": "partner", "low_percent": "10.00", "high_percent": "20.00",
    }  # fmt: skip
    assert changes[""].old == {"pipeline_to_won_low": old_low}
    assert changes[""].new == {"pipeline_to_won_low": "2.50"}
    # saving again unchanged records nothing
    assert client.post("/reports/benchmarks/", _benchmark_post()).status_code == 302
    assert BenchmarkChange.objects.count() == 4

    # and a manager reads the ranges and their history, without a way to change them
    client.force_login(manager)
    html = client.get("/reports/benchmarks/").content.decode()
    assert html.count('data-testid="benchmark-change"') == 4
    assert str(revops) in html and "30.00" in html
    assert 'data-testid="benchmarks-read-only"' in html
    assert 'data-testid="benchmarks-save"' not in html


def test_dashboard_nav_item_for_every_role(client, revops):
    for user in (revops, UserFactory(sdr=True), UserFactory(ae=True), UserFactory(manager=True)):
        client.force_login(user)
        assert 'href="/dashboard/"' in client.get("/").content.decode()
