"""The four kinds the global search finds — leads, opportunities, accounts, contacts —
each with the fields searched for each shape of query, who may see it, and how a found
row is shown and where it links.

The searched fields are written as the trigram indexes of the migration
`workspace/0001_search_indexes` have them (`SEARCH_INDEXES`), so PostgreSQL matches the
query's expressions to those indexes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import (
    Exists,
    F,
    Func,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
)
from django.db.models.lookups import PostgresOperatorLookup
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.models import Account, Contact, User
from leads.models import Lead
from opportunities.models import Opportunity, OpportunityContactRole
from workspace.search_query import Query, Shape

# --- the searched text, as the trigram indexes hold it -----------------------------------


class FullName(Func):
    """`first_name || ' ' || last_name`: the expression of the person trigram indexes,
    written the same way so PostgreSQL matches the query to the index."""

    template = "(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()


class PhoneDigits(Func):
    """The phone number's digits, as its trigram index holds them."""

    template = r"regexp_replace(%(expressions)s, '\D', '', 'g')"
    output_field = TextField()


class Unindexed(Func):
    """The expression in a form no index has (`|| ''`): PostgreSQL checks it on the rows
    another condition found instead of looking it up."""

    template = "(%(expressions)s || '')"
    output_field = TextField()


class ILike(PostgresOperatorLookup):
    """`field ILIKE pattern`: served by a trigram index, where Django's `icontains`
    (`UPPER(field) LIKE UPPER(...)`) is not."""

    lookup_name = "trigram_ilike"
    postgres_operator = "ILIKE"


def _full_name() -> FullName:
    return FullName(F("first_name"), F("last_name"))


def _phone_digits() -> PhoneDigits:
    return PhoneDigits(F("phone"))


@dataclass(frozen=True)
class SearchIndex:
    """One trigram index: what the migration creates and the planner must recognise."""

    name: str
    table: str
    expression: str


SEARCH_INDEXES = (
    SearchIndex("search_lead_company_trgm", "leads_lead", "company_name"),
    SearchIndex("search_lead_person_trgm", "leads_lead", "(first_name || ' ' || last_name)"),
    SearchIndex("search_lead_email_trgm", "leads_lead", "email"),
    SearchIndex("search_lead_domain_trgm", "leads_lead", "company_domain"),
    SearchIndex("search_lead_phone_trgm", "leads_lead", r"regexp_replace(phone, '\D', '', 'g')"),
    SearchIndex("search_contact_person_trgm", "crm_contact", "(first_name || ' ' || last_name)"),
    SearchIndex("search_contact_email_trgm", "crm_contact", "email"),
    SearchIndex(
        "search_contact_phone_trgm", "crm_contact", r"regexp_replace(phone, '\D', '', 'g')"
    ),
    SearchIndex("search_account_name_trgm", "crm_account", "name"),
    SearchIndex("search_account_domain_trgm", "crm_account", "domain"),
    SearchIndex("search_opportunity_name_trgm", "opportunities_opportunity", "name"),
)


@dataclass(frozen=True)
class Hit:
    """One record found: what the palette and the page show, and where it leads."""

    kind: str
    id: int
    title: str
    subtitle: str
    badge: str
    url: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "title": self.title,
            "subtitle": self.subtitle,
            "badge": self.badge,
            "url": self.url,
        }


# --- the kinds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """How one kind of record is searched, scoped and shown."""

    name: str
    label: Any  # a lazy translation
    model: type[Model]
    # The searched text for each query shape, as expressions over the model's rows.
    fields: dict[Shape, Sequence[Callable[[], Any]]]
    # The same, as ORM paths, for SQLite's `icontains`.
    plain_fields: dict[Shape, Sequence[str]]
    visible: Callable[[User], QuerySet[Any]]
    # Visible by its own row's columns (leads, deals), or only through other tables.
    row_scoped: bool
    shown: Callable[[QuerySet[Any], User], QuerySet[Any]]
    hit: Callable[[Any], Hit]
    list_url: Callable[[Query], str]


def _contact_url(contact: Contact) -> str:
    """The newest lead of the person, else the deal they are the primary contact of, else
    the search for them (RevOps finds contacts nobody's record points at)."""
    via_lead, via_deal = getattr(contact, "via_lead", None), getattr(contact, "via_deal", None)
    if via_lead:
        return reverse("leads:detail", args=[via_lead])
    if via_deal:
        return reverse("opportunities:detail", args=[via_deal])
    return f"{reverse('search')}?{urlencode({'q': contact.email or contact.full_name})}"


def _account_url(account: Account) -> str:
    """The account's deals in the deal list, else its newest lead, else the lead list."""
    if getattr(account, "via_deal", None):
        return f"{reverse('opportunities:list')}?{urlencode({'q': account.name, 'state': 'all'})}"
    via_lead = getattr(account, "via_lead", None)
    if via_lead:
        return reverse("leads:detail", args=[via_lead])
    return f"{reverse('leads:list')}?{urlencode({'q': account.name, 'status': 'all'})}"


def _joined(*parts: object) -> str:
    return " · ".join(str(part) for part in parts if part)


def visible_accounts(user: User) -> QuerySet[Account]:
    """The accounts `user` may find: all for RevOps; else their own and those with a lead
    or deal they can see."""
    if user.sees_everything:
        return Account.objects.all()
    leads = Lead.objects.visible_to(user).filter(account=OuterRef("pk"))
    deals = Opportunity.objects.visible_to(user).filter(account=OuterRef("pk"))
    return Account.objects.filter(Q(owner=user) | Exists(leads) | Exists(deals))


def visible_contacts(user: User) -> QuerySet[Contact]:
    """The contacts `user` may find: all for RevOps; else the person of a lead they can
    see, or the primary contact or a contact role of a deal they can see."""
    if user.sees_everything:
        return Contact.objects.all()
    deals = Opportunity.objects.visible_to(user)
    leads = Lead.objects.visible_to(user).filter(contact=OuterRef("pk"))
    primary = deals.filter(primary_contact=OuterRef("pk"))
    roles = OpportunityContactRole.objects.filter(
        contact=OuterRef("pk"), opportunity__in=deals.values("pk")
    )
    return Contact.objects.filter(Exists(leads) | Exists(primary) | Exists(roles))


def _newest(queryset: QuerySet[Any]) -> Subquery:
    return Subquery(queryset.order_by("-created_at", "-pk").values("pk")[:1])


def _accounts_shown(rows: QuerySet[Account], user: User) -> QuerySet[Account]:
    return rows.annotate(
        via_deal=_newest(Opportunity.objects.visible_to(user).filter(account=OuterRef("pk"))),
        via_lead=_newest(Lead.objects.visible_to(user).filter(account=OuterRef("pk"))),
    )


def _contacts_shown(rows: QuerySet[Contact], user: User) -> QuerySet[Contact]:
    return rows.select_related("account").annotate(
        via_lead=_newest(Lead.objects.visible_to(user).filter(contact=OuterRef("pk"))),
        via_deal=_newest(
            Opportunity.objects.visible_to(user).filter(primary_contact=OuterRef("pk"))
        ),
    )


def _lead_hit(lead: Lead) -> Hit:
    return Hit(
        kind="lead",
        id=lead.pk,
        title=lead.company_name,
        subtitle=_joined(lead.full_name, lead.email or lead.phone),
        badge=str(lead.get_status_display()),
        url=reverse("leads:detail", args=[lead.pk]),
    )


def _opportunity_hit(deal: Opportunity) -> Hit:
    return Hit(
        kind="opportunity",
        id=deal.pk,
        title=deal.name,
        subtitle=_joined(deal.account.name, f"{deal.amount:,.0f} {deal.currency}"),
        badge=deal.stage.name,
        url=reverse("opportunities:detail", args=[deal.pk]),
    )


def _account_hit(account: Account) -> Hit:
    return Hit(
        kind="account",
        id=account.pk,
        title=account.name,
        subtitle=_joined(account.domain, account.industry),
        badge="",
        url=_account_url(account),
    )


def _contact_hit(contact: Contact) -> Hit:
    return Hit(
        kind="contact",
        id=contact.pk,
        title=contact.full_name,
        subtitle=_joined(
            contact.account.name if contact.account else "",
            contact.job_title,
            contact.email or contact.phone,
        ),
        badge="",
        url=_contact_url(contact),
    )


def _list_url(name: str, **params: str) -> Callable[[Query], str]:
    def url(query: Query) -> str:
        return f"{reverse(name)}?{urlencode({**params, 'q': query.text})}"

    return url


# The kinds in the order they are shown: what people work, then who they work with.
KINDS = (
    Kind(
        name="lead",
        label=_("Leads"),
        model=Lead,
        fields={
            Shape.WORDS: (lambda: F("company_name"), _full_name),
            Shape.EMAIL: (lambda: F("email"),),
            Shape.DOMAIN: (lambda: F("company_domain"), lambda: F("email")),
            Shape.PHONE: (_phone_digits,),
        },
        plain_fields={
            Shape.WORDS: ("company_name", "first_name", "last_name"),
            Shape.EMAIL: ("email",),
            Shape.DOMAIN: ("company_domain", "email"),
            Shape.PHONE: ("phone",),
        },
        visible=lambda u: Lead.objects.visible_to(u),
        row_scoped=True,
        shown=lambda rows, u: rows,
        hit=_lead_hit,
        list_url=_list_url("leads:list", status="all"),
    ),
    Kind(
        name="opportunity",
        label=_("Opportunities"),
        model=Opportunity,
        fields={Shape.WORDS: (lambda: F("name"),)},
        plain_fields={Shape.WORDS: ("name",)},
        visible=lambda u: Opportunity.objects.visible_to(u),
        row_scoped=True,
        shown=lambda rows, u: rows.select_related("account", "stage"),
        hit=_opportunity_hit,
        list_url=_list_url("opportunities:list", state="all"),
    ),
    Kind(
        name="account",
        label=_("Accounts"),
        model=Account,
        fields={
            Shape.WORDS: (lambda: F("name"),),
            Shape.DOMAIN: (lambda: F("domain"),),
        },
        plain_fields={Shape.WORDS: ("name",), Shape.DOMAIN: ("domain",)},
        visible=visible_accounts,
        row_scoped=False,
        shown=_accounts_shown,
        hit=_account_hit,
        list_url=_list_url("opportunities:list", state="all"),
    ),
    Kind(
        name="contact",
        label=_("Contacts"),
        model=Contact,
        fields={
            Shape.WORDS: (_full_name,),
            Shape.EMAIL: (lambda: F("email"),),
            Shape.DOMAIN: (lambda: F("email"),),
            Shape.PHONE: (_phone_digits,),
        },
        plain_fields={
            Shape.WORDS: ("first_name", "last_name"),
            Shape.EMAIL: ("email",),
            Shape.DOMAIN: ("email",),
            Shape.PHONE: ("phone",),
        },
        visible=visible_contacts,
        row_scoped=False,
        shown=_contacts_shown,
        hit=_contact_hit,
        list_url=lambda query: f"{reverse('search')}?{urlencode({'q': query.text})}",
    ),
)
