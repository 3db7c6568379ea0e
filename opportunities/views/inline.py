"""Inline edit on the deal list: the name, the amount with its currency, the expected
close date and the probability, each changed in place (`crm.web.inline`).

A cell is parsed by the edit page's own form (`OpportunityEditForm`) and saved by its
service (`opportunities.services.opportunity_update`, which judges the values by the
conversion's rules) with the version the row was shown at; the deal is fetched through
`opportunities.access.opportunity_for` (`to="work"`), the predicate that also decides
whether the list shows the cell's edit button. The next step is not in the list, so it
is edited on the deal's page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Model, prefetch_related_objects
from django.forms import BaseForm
from django.http import HttpResponse, QueryDict
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from crm.models import User
from crm.web.inline import InlineEdit, InlineField, register
from crm.web.requests import AuthedHttpRequest
from opportunities import services
from opportunities.access import OPPORTUNITY_PERMISSIONS, OpportunityAction, opportunity_for
from opportunities.forms import OpportunityEditForm, currency_choices
from opportunities.models import ConversionPolicy, Opportunity


def _fetch(user: User, pk: int, to: str) -> Model:
    action: OpportunityAction = "work" if to == "work" else "view"
    return opportunity_for(user, pk, to=action)


def _may_edit(user: User, opportunity: Model) -> bool:
    return bool(user.has_perm(OPPORTUNITY_PERMISSIONS["work"], opportunity))


def _prefetch(user: User, opportunities: Sequence[Model]) -> None:
    # `manages_opportunity_owner` reads the owner's team; the others read the row itself.
    if user.is_manager:
        prefetch_related_objects(list(opportunities), "owner__team")


def _form(opportunity: Model, user: User, data: QueryDict | None) -> BaseForm:
    assert isinstance(opportunity, Opportunity)
    policy = ConversionPolicy.current()
    currencies = currency_choices(
        opportunity.currency, user.default_currency, *policy.approval_thresholds
    )
    initial = {name: getattr(opportunity, name) for name in services.EDITABLE_FIELDS}
    initial["version"] = opportunity.version
    return OpportunityEditForm(
        data, initial=initial, owners=User.objects.none(), currencies=currencies
    )


def _save(user: User, opportunity: Model, data: dict[str, Any], version: int) -> Model:
    return services.opportunity_update(
        opportunity_id=opportunity.pk, by=user, data=data, expected_version=version
    )


OPPORTUNITY_INLINE = register(
    Opportunity,
    InlineEdit(
        fields={
            "name": InlineField(("name",), _("name"), is_link=True),
            "amount": InlineField(("amount", "currency"), _("amount")),
            "expected_close_date": InlineField(("expected_close_date",), _("expected close")),
            "probability": InlineField(("probability",), _("probability")),
        },
        fetch=_fetch,
        may_edit=_may_edit,
        prefetch=_prefetch,
        form=_form,
        save=_save,
        cell_url="opportunities:cell",
        edit_url="opportunities:cell-edit",
        value_template="opportunities/_inline_value.html",
    ),
)


@login_required
@require_GET
def opportunity_cell(request: AuthedHttpRequest, pk: int, field: str) -> HttpResponse:
    """The cell as the list shows it (the editor's Cancel)."""
    return OPPORTUNITY_INLINE.cell(request, pk, field)


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_cell_edit(request: AuthedHttpRequest, pk: int, field: str) -> HttpResponse:
    """GET: the cell's editor. POST: save it through `opportunity_update`."""
    return OPPORTUNITY_INLINE.edit(request, pk, field)
