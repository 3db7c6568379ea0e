"""A small but complete world for page-level tests: every report has something to count.

`build(scale)` adds `scale` copies of the same mix, so a test can compare a page's query
count on a small and a larger dataset. Times are relative to the real now (the pages use
the default period, the last 90 days)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from crm.models import Team, User
from leads.models import Handoff, Lead
from opportunities.models import ConversionRequest, Opportunity, Stage, StageChange
from sla.models import SlaPolicy, SlaTimer
from tests.factories import (
    HandoffFactory,
    LeadFactory,
    OpportunityFactory,
    TeamFactory,
    UserFactory,
)

D = datetime.timedelta(days=1)
H = datetime.timedelta(hours=1)


@dataclass
class World:
    team: Team
    other_team: Team
    manager: User
    sdr: User
    other_sdr: User
    ae: User


def people() -> World:
    manager = UserFactory(manager=True, username="w-manager")
    team = TeamFactory(name="World Inbound", manager=manager)
    other_team = TeamFactory(name="World Outbound")
    # `manager=` would name the factory's manager trait (the role), not the field.
    sdr = UserFactory(sdr=True, username="w-sdr", team=team)
    other_sdr = UserFactory(sdr=True, username="w-sdr2", team=other_team)
    ae = UserFactory(ae=True, username="w-ae", team=team)
    User.objects.filter(pk__in=[sdr.pk, ae.pk]).update(manager=manager)
    sdr.refresh_from_db()
    ae.refresh_from_db()
    return World(team, other_team, manager, sdr, other_sdr, ae)


def _lead(created: datetime.datetime, **fields) -> Lead:
    fields.setdefault("mql_at", created)
    obj = LeadFactory(**fields)
    Lead.objects.filter(pk=obj.pk).update(created_at=created)
    return obj


def _opportunity(
    lead: Lead | None, created: datetime.datetime, stage: Stage, **fields
) -> Opportunity:
    obj = OpportunityFactory(
        lead=lead,
        stage=stage,
        probability=stage.default_probability,
        stage_entered_at=fields.pop("entered", created),
        source=lead.source if lead else "inbound",
        **fields,
    )
    Opportunity.objects.filter(pk=obj.pk).update(created_at=created)
    return obj


def build(w: World, scale: int = 1) -> None:
    now = timezone.now()
    stages = {s.name: s for s in Stage.objects.all()}
    first_contact = SlaPolicy.objects.get(key="first-contact")
    routing = SlaPolicy.objects.get(key="route-mql")
    for i in range(scale):
        t0 = now - (10 + i % 50) * D
        for source, owner, team in (
            ("inbound", w.sdr, w.team),
            ("outbound", w.other_sdr, w.other_team),
            ("referral", w.sdr, w.team),
        ):
            campaign = f"{source.title()} spring" if i % 2 == 0 else ""
            # Converted and won
            won_lead = _lead(
                t0, source=source, campaign=campaign, owner=owner, team=team, ae=w.ae,
                status="converted",
                assigned_at=t0, first_contacted_at=t0 + 2 * H, accepted_at=t0 + D,
                qualified_at=t0 + 2 * D, handed_off_at=t0 + 2 * D, converted_at=t0 + 3 * D,
            )  # fmt: skip
            won = _opportunity(
                won_lead, t0 + 3 * D, stages["Closed Won"], owner=w.ae,
                closed_at=t0 + 8 * D, amount=Decimal("5000"), campaign=campaign,
                currency="EUR" if source == "referral" else "USD",
            )  # fmt: skip
            StageChange.objects.create(
                opportunity=won,
                from_stage=None,
                to_stage=stages["Discovery"],
                changed_at=t0 + 3 * D,
            )
            StageChange.objects.create(
                opportunity=won, from_stage=stages["Discovery"], to_stage=stages["Closed Won"],
                changed_at=t0 + 8 * D, time_in_previous_stage=5 * D,
            )  # fmt: skip
            # Converted, open, stalled early (entered Discovery 60 days ago), in EUR
            open_lead = _lead(
                t0, source=source, owner=owner, team=team, ae=w.ae, status="converted",
                assigned_at=t0, accepted_at=t0 + D, qualified_at=t0 + 2 * D,
                converted_at=t0 + 4 * D,
            )  # fmt: skip
            _opportunity(
                open_lead, t0 + 4 * D, stages["Discovery"], owner=w.ae, currency="EUR",
                entered=now - 60 * D, is_override=True,
            )  # fmt: skip
            # Lost early
            lost_lead = _lead(
                t0, source=source, owner=owner, team=team, status="converted",
                qualified_at=t0 + D, converted_at=t0 + 2 * D,
            )  # fmt: skip
            lost = _opportunity(
                lost_lead, t0 + 2 * D, stages["Closed Lost"], owner=w.ae, closed_at=t0 + 9 * D
            )
            StageChange.objects.create(
                opportunity=lost, from_stage=stages["Discovery"], to_stage=stages["Closed Lost"],
                changed_at=t0 + 9 * D, time_in_previous_stage=7 * D,
            )  # fmt: skip
            # Converted, waiting for a manager's approval: not pipeline
            pending_lead = _lead(
                t0, source=source, campaign=campaign, owner=owner, team=team, ae=w.ae,
                status="converted", converted_at=t0 + 4 * D,
            )  # fmt: skip
            _opportunity(
                pending_lead, t0 + 4 * D, stages["Qualification"], owner=w.ae,
                amount=Decimal("250000"), approval=Opportunity.Approval.PENDING,
            )  # fmt: skip
            # Not converted: one lost to a competitor, one rejected, one plain MQL
            _lead(t0, source=source, owner=owner, team=team, lost_to_competitor="Rival Inc")
            _lead(t0, source=source, owner=owner, team=team, status="nurture", nurtured_at=t0 + D)
            plain = _lead(t0, source=source, owner=owner, team=team, assigned_at=t0)
            for due, stopped, met in (
                (t0 + D, t0 + 2 * H, True),
                (t0 + 2 * D, t0 + 3 * D, False),
            ):
                SlaTimer.objects.create(
                    policy=first_contact, lead=plain if met else won_lead, responsible=owner,
                    started_at=due - D, warn_at=due - 6 * H, due_at=due, target_value=24,
                    target_unit="hours", stopped_at=stopped, met=met,
                )  # fmt: skip
            SlaTimer.objects.create(
                policy=first_contact, lead=open_lead, responsible=owner, started_at=t0,
                warn_at=t0 + 18 * H, due_at=t0 + D, target_value=24, target_unit="hours",
            )  # fmt: skip
            handoff = HandoffFactory(
                lead=won_lead, from_user=owner, to_user=w.ae, ae_rating=4 if i % 2 else 2,
                ae_repeated_discovery=bool(i % 2),
            )  # fmt: skip
            Handoff.objects.filter(pk=handoff.pk).update(created_at=t0 + 2 * D)
            # No owner (routing found no SDR): managers see the open one, and its running
            # routing clock (not the stopped clock of the closed one)
            waiting = _lead(t0, source=source, campaign=campaign, owner=None, team=None)
            closed = _lead(t0, source=source, owner=None, team=None, status="disqualified")
            for unowned, stopped in ((waiting, None), (closed, t0 + H)):
                SlaTimer.objects.create(
                    policy=routing, lead=unowned, responsible=None, started_at=t0,
                    warn_at=t0 + H, due_at=t0 + 2 * H, target_value=5, target_unit="minutes",
                    stopped_at=stopped, met=None if stopped is None else False,
                )  # fmt: skip
            request = ConversionRequest.objects.create(
                lead=open_lead, requested_by=w.ae, data={}, unmet=[], rationale="x",
                state="approved",
            )  # fmt: skip
            ConversionRequest.objects.filter(pk=request.pk).update(requested_at=t0 + 3 * D)
