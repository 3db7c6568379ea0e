"""factory_boy factories shared by every app's tests."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from crm.models import Account, Contact, Team, User
from leads.models import Activity, Handoff, Lead, Qualification, Source
from opportunities.models import Opportunity, OpportunityContactRole, Stage


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = User.Role.SDR
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()

    class Params:
        sdr = factory.Trait(role=User.Role.SDR)
        ae = factory.Trait(role=User.Role.AE)
        manager = factory.Trait(role=User.Role.MANAGER)
        revops = factory.Trait(role=User.Role.REVOPS)
        admin = factory.Trait(role=User.Role.ADMIN, is_staff=True, is_superuser=True)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Acme {n}")
    domain = factory.Sequence(lambda n: f"acme{n}.example")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@acme.example")


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    company_name = factory.Sequence(lambda n: f"Lead Co {n}")
    company_domain = factory.Sequence(lambda n: f"leadco{n}.example")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"person{n}@leadco.example")
    source = Source.INBOUND
    score = 50
    owner = factory.SubFactory(UserFactory, role=User.Role.SDR)
    status = Lead.Status.MQL
    mql_at = factory.LazyFunction(timezone.now)


class QualificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Qualification

    lead = factory.SubFactory(LeadFactory)

    class Params:
        confirmed = factory.Trait(
            budget_status="confirmed",
            budget_evidence="CFO approved 120k in the Q3 cycle.",
            budget_holder="CFO",
            authority_status="confirmed",
            authority_evidence="VP Sales signs; CFO co-signs above 100k.",
            economic_buyer="VP Sales",
            need_status="confirmed",
            need_evidence="Manual routing loses 30% of inbound leads.",
            need_problem="Leads go unanswered for days.",
            timeline_status="confirmed",
            timeline_evidence="Contract with the current vendor ends in March.",
            timeline_target_date=factory.LazyFunction(
                lambda: timezone.localdate() + datetime.timedelta(days=120)
            ),
            decision_status="confirmed",
            decision_evidence="Security review, then a two-week pilot.",
            decision_people="VP Sales, CFO, IT security",
        )


class HandoffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Handoff

    lead = factory.SubFactory(LeadFactory)
    from_user = factory.LazyAttribute(lambda h: h.lead.owner)
    to_user = factory.SubFactory(UserFactory, role=User.Role.AE)
    company_background = "Mid-market logistics firm, 400 staff, fits ICP."
    contacts_org_chart = "VP Sales (buyer), RevOps lead (champion)."
    pain_points = "Slow lead response."
    engagement_history = "Two calls, one demo request."
    qualification_notes = "BANT: all confirmed."
    recommended_next_step = "Discovery call with VP Sales."
    discovery_meeting_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=2))


class ConvertibleLeadFactory(LeadFactory):
    """An SQL lead ready to convert: five criteria confirmed with evidence, handed off to
    an AE, discovery held. Knock one thing out to test the gate."""

    class Meta:
        skip_postgeneration_save = True

    status = Lead.Status.SQL
    ae = factory.SubFactory(UserFactory, role=User.Role.AE)
    qualified_at = factory.LazyFunction(timezone.now)
    handed_off_at = factory.LazyFunction(timezone.now)
    industry = "Logistics"

    @factory.post_generation
    def parts(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            QualificationFactory(lead=obj, confirmed=True)
            HandoffFactory(
                lead=obj, from_user=obj.owner, to_user=obj.ae, discovery_held_at=timezone.now()
            )


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    kind = Activity.Kind.CALL
    lead = factory.SubFactory(LeadFactory)
    owner = factory.LazyAttribute(lambda a: a.lead.owner)
    subject = "Intro call"
    occurred_at = factory.LazyFunction(timezone.now)


def discovery_stage() -> Stage:
    """The entry stage; re-created when a transactional test flushed the migration's rows."""
    stage, _created = Stage.objects.get_or_create(
        name="Discovery",
        defaults={"position": 0, "default_probability": 10, "is_entry": True, "rot_days": 21},
    )
    return stage


class OpportunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Opportunity

    name = factory.Sequence(lambda n: f"Acme {n} - Routing - Inbound speed")
    account = factory.SubFactory(AccountFactory)
    primary_contact = factory.SubFactory(ContactFactory, account=factory.SelfAttribute("..account"))
    owner = factory.SubFactory(UserFactory, role=User.Role.AE)
    amount = Decimal("50000.00")
    currency = "USD"
    expected_close_date = factory.LazyFunction(
        lambda: timezone.localdate() + datetime.timedelta(days=120)
    )
    stage = factory.LazyFunction(lambda: discovery_stage())
    probability = 10
    next_step = "Discovery call"
    next_step_owner = factory.SelfAttribute("owner")
    next_step_due = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=3))
    source = Source.INBOUND
    stage_entered_at = factory.LazyFunction(timezone.now)


class ContactRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpportunityContactRole

    opportunity = factory.SubFactory(OpportunityFactory)
    contact = factory.SelfAttribute("opportunity.primary_contact")
    role = OpportunityContactRole.Role.ECONOMIC_BUYER


def running_timer(lead: Lead, due_at: datetime.datetime, *, policy: str = "first-contact") -> Any:
    """A running SLA clock of `policy` on `lead`, due at `due_at` (24 h target, warned 6 h
    before), its next check at the due time, as the sweep would find it."""
    from sla.models import SlaPolicy, SlaTimer

    return SlaTimer.objects.create(
        policy=SlaPolicy.objects.get(key=policy),
        lead=lead,
        responsible=lead.owner,
        started_at=due_at - datetime.timedelta(hours=24),
        warn_at=due_at - datetime.timedelta(hours=6),
        due_at=due_at,
        target_value=24,
        target_unit="hours",
        next_check_at=due_at,
    )
