"""The sweep's messages speak each recipient's language: an Indonesian rep and an English
one breached in the same sweep each read their own bell message and e-mail, whatever
language the worker itself runs in. Runs on SQLite and on PostgreSQL (set-based path)."""

from __future__ import annotations

import datetime
from typing import cast

import pytest
from django.utils import translation
from django.utils.dates import WEEKDAYS_ABBR

from crm.models import Notification, User
from leads import services as lead_services
from sla.models import SlaTimer
from sla.sweep import timers_sweep
from tests.factories import UserFactory
from tests.sla.conftest import reports_to, timer_of

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def english_rep(team, boss) -> User:
    rep = cast(
        User,
        UserFactory(
            sdr=True, username="emma", first_name="Emma", team=team, language="en", time_zone="UTC"
        ),
    )
    return reports_to(rep, boss)


def _set_language(user: User, language: str) -> None:
    user.language = language
    user.save(update_fields=["language"])


def _breach_message(user: User) -> str:
    return Notification.objects.get(recipient=user, kind="sla_breach").message


def _latest_due(*timers: SlaTimer) -> datetime.datetime:
    return max(t.due_at for t in timers)


@pytest.mark.parametrize("worker_language", ["en", "id"])
def test_one_sweep_tells_each_rep_in_their_own_language(
    worker_language,
    make_lead,
    owner,
    english_rep,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    # given: Dewi reads Indonesian (Jakarta time), Emma English (UTC)
    _set_language(owner, "id")
    dewi_timer = timer_of(make_lead(), "first-contact")
    emma_timer = timer_of(make_lead(owner_=english_rep), "first-contact")

    # when: one sweep past both due times, in a worker whose own language is either
    with (
        translation.override(worker_language),
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = timers_sweep(now=_latest_due(dewi_timer, emma_timer) + MINUTE)

    # then
    assert result.breaches == 2
    dewi, emma = _breach_message(owner), _breach_message(english_rep)
    assert dewi.startswith("SLA dilanggar: “First contact within 24 hours")
    assert "jatuh tempo" in dewi
    jakarta = dewi_timer.due_at.astimezone(datetime.timezone(datetime.timedelta(hours=7)))
    with translation.override("id"):
        day = str(WEEKDAYS_ABBR[jakarta.weekday()])
    assert f"{day} {jakarta.day} " in dewi and f"{jakarta:%H:%M} WIB" in dewi
    assert emma.startswith("SLA breached: “First contact within 24 hours")
    utc = emma_timer.due_at.astimezone(datetime.UTC)
    assert f"{WEEKDAYS_ABBR[utc.weekday()]} {utc.day} " in emma
    assert f"{utc:%H:%M} UTC" in emma
    subjects = {m.to[0]: m.subject for m in mailoutbox}
    assert subjects[owner.email].startswith("SLA dilanggar")
    assert subjects[english_rep.email].startswith("SLA breached")


def test_a_person_without_a_language_reads_the_sites(make_lead, owner):
    _set_language(owner, "")
    timer = timer_of(make_lead(), "first-contact")

    with translation.override("id"):  # the worker's language is not the reader's
        timers_sweep(now=timer.due_at + MINUTE)

    assert _breach_message(owner).startswith("SLA breached")


def test_escalations_name_nobody_in_the_readers_language(revops_team):
    # given: an MQL no routing rule matched (its routing clock has no owner), and two
    # RevOps people, one reading Indonesian
    rani, tono = revops_team
    _set_language(rani, "id")
    lead = lead_services.lead_create(
        by=None,
        data={
            "company_name": "Unrouted",
            "last_name": "Doe",
            "email": "d@x.example",
            "source": "event",
        },
    )
    timer = timer_of(lead, "route-mql")
    assert timer.responsible is None

    # when: past the due time and the escalation to RevOps
    timers_sweep(now=timer.due_at + MINUTE)
    timers_sweep(now=timer.due_at + datetime.timedelta(minutes=16))

    # then
    [for_rani] = Notification.objects.filter(recipient=rani, kind="escalation")
    [for_tono] = Notification.objects.filter(recipient=tono, kind="escalation")
    assert for_rani.message.startswith("Eskalasi SLA (level 1): “")
    assert "milik tidak ada, terlambat sejak" in for_rani.message
    assert for_tono.message.startswith("SLA escalation (level 1): “")
    assert "owned by nobody, overdue since" in for_tono.message
