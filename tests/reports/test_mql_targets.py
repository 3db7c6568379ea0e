"""MQL targets: RevOps sets them per month and source (one service, all or nothing, an
audit row per change), managers read them and their history, SDRs and AEs never see them;
the page and the Settings hub for each role."""

from __future__ import annotations

import datetime

import pytest

from crm.exceptions import NotAllowed, ValidationFailed
from reports.models import BenchmarkChange, MqlTarget, MqlTargetChange
from reports.services import TargetEdit, mql_targets_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
MAR, APR = datetime.date(2026, 3, 1), datetime.date(2026, 4, 1)
PAGE = "/reports/mql-targets/?year=2026"


def test_revops_sets_changes_and_removes_targets_with_an_audit(revops):
    # given one target already set
    mql_targets_update(by=revops, edits=[TargetEdit(MAR, "inbound", 100)])

    # when RevOps changes it, adds one, and leaves a third as it was
    changes = mql_targets_update(
        by=revops,
        edits=[
            TargetEdit(MAR, "inbound", 120),
            TargetEdit(APR, "event", 30),
            TargetEdit(MAR, "outbound", None),  # no target, none before: nothing to do
        ],
    )

    # then one audit row per target that changed: who, when, old -> new
    assert [(c.month, c.source, c.old, c.new) for c in changes] == [
        (MAR, "inbound", {"target": 100}, {"target": 120}),
        (APR, "event", {}, {"target": 30}),
    ]
    assert all(c.actor == revops and c.changed_at for c in changes)
    assert {(t.month, t.source, t.target) for t in MqlTarget.objects.all()} == {
        (MAR, "inbound", 120),
        (APR, "event", 30),
    }
    # and removing one is audited too
    [removed] = mql_targets_update(by=revops, edits=[TargetEdit(APR, "event", None)])
    assert (removed.old, removed.new, removed.target) == ({"target": 30}, {}, None)
    assert MqlTargetChange.objects.count() == 4


@pytest.mark.parametrize("role", ["manager", "sdr", "ae"])
def test_only_revops_sets_targets(role):
    with pytest.raises(NotAllowed):
        mql_targets_update(by=UserFactory(**{role: True}), edits=[TargetEdit(MAR, "inbound", 1)])
    assert not MqlTarget.objects.exists()


def test_a_refused_edit_changes_nothing(revops):
    with pytest.raises(ValidationFailed) as refused:
        mql_targets_update(
            by=revops,
            edits=[
                TargetEdit(MAR, "inbound", 10),
                TargetEdit(datetime.date(2026, 3, 2), "radio", -1),
                TargetEdit(MAR, "inbound", 11),
            ],
        )
    assert {(p.code, p.field) for p in refused.value.problems} == {
        ("not_first_of_month", "month"),
        ("invalid_choice", "source"),
        ("out_of_range", "target"),
        ("duplicate", "source"),
    }
    assert not MqlTarget.objects.exists() and not MqlTargetChange.objects.exists()


def _grid(**cells: str) -> dict[str, str]:
    """The page's form: every cell blank but the ones given (`t_2026_03_inbound="5"`)."""
    data = {}
    for month in range(1, 13):
        for source in ("inbound", "outbound", "referral", "event", "partner", "other"):
            data[f"t_2026_{month:02}_{source}"] = ""
    return data | cells


def test_revops_edits_the_year_on_the_page(client, revops):
    MqlTarget.objects.create(month=APR, source="event", target=7)
    client.force_login(revops)
    page = client.get(PAGE).content.decode()
    assert 'data-testid="targets-save"' in page and 'value="7"' in page

    response = client.post(PAGE, _grid(t_2026_03_inbound="120", t_2026_04_event="7"))

    assert response.status_code == 302 and response["Location"].endswith("?year=2026")
    assert MqlTarget.objects.get(month=MAR, source="inbound").target == 120
    # only the cell that changed is written and audited
    assert [(c.source, c.old, c.new) for c in MqlTargetChange.objects.all()] == [
        ("inbound", {}, {"target": 120})
    ]
    html = client.get(PAGE).content.decode()
    assert html.count('data-testid="target-change"') == 1 and str(revops) in html


def test_bad_cells_are_named_on_the_page_not_a_500(client, revops):
    client.force_login(revops)
    response = client.post(PAGE, _grid(t_2026_03_inbound="-5", t_2026_05_other="many"))
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count('aria-invalid="true"') == 2
    assert "Some targets are not valid" in html
    assert not MqlTarget.objects.exists()


def test_manager_reads_the_targets_and_cannot_change_them(client, revops, manager):
    mql_targets_update(by=revops, edits=[TargetEdit(MAR, "inbound", 50)])
    client.force_login(manager)
    html = client.get(PAGE).content.decode()
    assert 'data-testid="targets-read-only"' in html
    assert 'data-testid="targets-save"' not in html
    assert 'value="50"' in html and " disabled" in html
    assert html.count('data-testid="target-change"') == 1
    assert client.post(PAGE, _grid(t_2026_03_inbound="1")).status_code == 403
    assert MqlTarget.objects.get().target == 50


@pytest.mark.parametrize("role", ["sdr", "ae"])
def test_reps_never_see_the_targets(client, role):
    client.force_login(UserFactory(**{role: True}))
    assert client.get(PAGE).status_code == 403
    assert client.get("/reports/mql-targets/history/").status_code == 403
    assert client.post(PAGE, _grid(t_2026_03_inbound="1")).status_code == 403
    assert "/reports/mql-targets/" not in client.get("/settings/").content.decode()


def test_history_pages_list_every_change_a_page_at_a_time(client, revops, manager):
    for n in range(55):
        mql_targets_update(by=revops, edits=[TargetEdit(MAR, "inbound", n + 1)])
    client.force_login(manager)
    first = client.get("/reports/mql-targets/history/").content.decode()
    assert first.count('data-testid="change"') == 50
    assert 'rel="next"' in first
    next_url = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = client.get("/reports/mql-targets/history/" + next_url.replace("&amp;", "&"))
    assert second.content.decode().count('data-testid="change"') == 5
    # the benchmarks have theirs too
    BenchmarkChange.objects.create(source="inbound", actor=revops, old={}, new={"low_percent": "1"})
    benchmarks = client.get("/reports/benchmarks/history/").content.decode()
    assert benchmarks.count('data-testid="change"') == 1


@pytest.mark.parametrize("role", ["revops", "manager"])
def test_the_settings_hub_lists_the_targets(client, role):
    client.force_login(UserFactory(**{role: True}))
    html = client.get("/settings/").content.decode()
    assert 'href="/reports/mql-targets/"' in html and "MQL targets" in html
    assert 'href="/reports/benchmarks/"' in html
    page = client.get("/reports/mql-targets/")
    assert page.status_code == 200
    assert 'href="/reports/mql-targets/history/"' in page.content.decode()
