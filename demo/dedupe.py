"""The demo's duplicates: returning people recorded as touches, one pair of leads of one
person for a manager to merge, one pair the manager merged already (the merged-away
lead's read-only page, "merged into #X" in the lists, the survivor's former e-mail), and
a returning person whose new lead links to the old.

The touches go through the real intake service, so the timelines are what the app
writes; the duplicate pair and the returning person are made from leads the generator
wrote (the demo keeps exactly the number of leads asked for, each with its history).
Deterministic: the leads are picked by id from what the generator wrote.

Wiring (in `demo.seed.seed_demo`, after the leads are written, inside its transaction):

    dedupe = seed_dedupe(now=now)

and in `demo.seed.delete_demo_data`, before `demo_leads` (the generator writes no
`LeadEvent`, but touches, merges and every assignment made through the app do; their
rows must go before their leads):

    LeadEvent.objects.filter(lead__is_demo=True),
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from leads.models import Lead, LeadEvent, Qualification
from leads.services import lead_intake, lead_merge
from leads.services.edits import EDITABLE_FIELDS

# Who the person is: what a returning lead shares with the earlier one.
PERSON_FIELDS = ("first_name", "last_name", "email", "company_name", "company_domain")

# Where the returning people came from: (channel, form or list, source, campaign, days ago).
TOUCHES = (
    ("web_form", "Webinar: Answer every lead in 5 minutes", "event", "Webinar Q3", 2),
    ("webhook", "HubSpot: Pricing page visit", "inbound", "Pricing retargeting", 5),
    ("web_form", "Demo request – website", "inbound", "Website demo request", 9),
    ("webhook", "HubSpot: Ebook download", "inbound", "Lead response ebook", 12),
)


@dataclass
class DedupeDemo:
    """What was made, by lead id, for the seed's report and the tests."""

    touched: list[int] = field(default_factory=list)
    merge_pair: tuple[int, int] | None = None
    merged: tuple[int, int] | None = None  # (survivor, merged-away duplicate)
    returning: tuple[int, int] | None = None


def _values(lead: Lead) -> dict[str, Any]:
    return {
        name: getattr(lead, name)
        for name in EDITABLE_FIELDS
        if getattr(lead, name) not in (None, "")
    }


def seed_dedupe(*, now: datetime.datetime) -> DedupeDemo:
    """Touches on four open demo leads, a likely-duplicate pair for the manager of the
    Inbound Squad to merge (the lead page's "Merge a duplicate…"), and a disqualified
    person who came back through the webhook with a new lead linked to the old one."""
    made = DedupeDemo()
    open_leads = (
        Lead.objects.filter(is_demo=True, status__in=Lead.OPEN_STATUSES, merged_into=None)
        .exclude(email="")
        .select_related("owner")
        .order_by("pk")
    )

    # Returning people: the same address again, from a webinar, the website, HubSpot.
    for lead, (via, form, source, campaign, days) in zip(
        open_leads[: len(TOUCHES)], TOUCHES, strict=False
    ):
        at = max(now - datetime.timedelta(days=days), lead.created_at + datetime.timedelta(hours=1))
        values = _values(lead) | {"source": source, "campaign": campaign}
        result = lead_intake(by=None, data=values, via=via, form=form, at=min(at, now))
        made.touched.append(result.lead.pk)

    # A likely duplicate: the same person entered twice, the second time from a trade-show
    # badge scan with a personal address, so intake could not tell (a different e-mail is
    # a different person). Made from a second lead of the same owner, so the demo keeps
    # its lead count and every lead its own generated history; the team's manager may
    # merge the two.
    original = (
        open_leads.filter(owner__team__name="Inbound Squad", first_name__gt="", phone="")
        .exclude(pk__in=made.touched)
        .first()
    )
    twin = (
        open_leads.filter(owner=original.owner, created_at__gt=original.created_at)
        .exclude(pk__in=[*made.touched, original.pk])
        .first()
        if original is not None and original.owner is not None
        else None
    )
    if original is not None and twin is not None:
        _make_twin(
            original,
            twin,
            mailbox="gmail.com",
            phone="+62 812 5550 1234",
            job_title=original.job_title or "Head of Operations",
            campaign="Trade show badge scan",
        )
        made.merge_pair = (original.pk, twin.pk)

    merge_candidates = open_leads.exclude(pk__in=[*made.touched, *(made.merge_pair or ())])
    made.merged = _merged_pair(merge_candidates, at=now)

    # A returning person: disqualified last time, back with a new lead linked to the old
    # one (as intake links a person whose earlier lead was closed).
    taken = [*made.touched, *(made.merge_pair or ()), *(made.merged or ())]
    old = (
        Lead.objects.filter(is_demo=True, status=Lead.Status.DISQUALIFIED, merged_into=None)
        .exclude(email="")
        .order_by("-disqualified_at", "-pk")
        .first()
    )
    back = (
        open_leads.filter(created_at__gt=old.disqualified_at).exclude(pk__in=taken).last()
        if old is not None and old.disqualified_at is not None
        else None
    )
    if old is not None and back is not None:
        Lead.objects.filter(pk=back.pk).update(
            **{name: getattr(old, name) for name in PERSON_FIELDS},
            previous_lead=old,
            campaign="Win-back newsletter",
        )
        made.returning = (old.pk, back.pk)
    return made


def _make_twin(original: Lead, twin: Lead, *, mailbox: str, **values: Any) -> None:
    """Make `twin` the same person as `original` under a personal address at `mailbox`
    (so intake could not tell them apart), with `values` besides."""
    personal = f"{original.first_name}.{original.last_name}".lower().replace(" ", "")
    Lead.objects.filter(pk=twin.pk).update(
        first_name=original.first_name,
        last_name=original.last_name,
        company_name=original.company_name,
        company_domain=original.company_domain,
        email=f"{personal}@{mailbox}",
        **values,
    )


def _merged_pair(candidates: Any, *, at: datetime.datetime) -> tuple[int, int] | None:
    """A person entered twice and merged by the team's manager through the service: the
    duplicate came from a webinar sign-up with the address she answers now, which the
    manager kept, so the survivor lists its first address as a former one."""
    for original in candidates.filter(owner__team__manager__isnull=False, first_name__gt=""):
        twin = (
            candidates.filter(owner=original.owner, status=original.status)
            .filter(created_at__gt=original.created_at)
            .exclude(pk=original.pk)
            .first()
        )
        if twin is None:
            continue
        _make_twin(original, twin, mailbox="outlook.com", campaign="Webinar Q3")
        lead_merge(
            by=original.owner.team.manager,
            survivor=original.pk,
            duplicate=twin.pk,
            values={"email": "duplicate"},
            reason="Same person: she signed up for the webinar with the address she answers.",
            at=at,
        )
        # Dated on the demo's clock, as the rest of its history (saves stamp wall-clock).
        Lead.objects.filter(pk__in=(original.pk, twin.pk)).update(updated_at=at)
        Qualification.objects.filter(lead__in=(original.pk, twin.pk)).update(updated_at=at)
        return original.pk, twin.pk
    return None


def delete_demo_events() -> int:
    """The event rows of demo leads (touches, merges, assignments made in the app), for a
    reset; `delete_demo_data` can list the queryset instead."""
    deleted, _by_model = LeadEvent.objects.filter(lead__is_demo=True).delete()
    return deleted
