"""Inline edit on the lead queue: the company, the contact's job title, the source, the
campaign and the score, each changed in place (`crm.web.inline`).

A cell is parsed by the edit page's own form (`LeadForm`) and saved by its service
(`leads.services.lead_update`) with the version the row was shown at; the lead is
fetched through `leads.access.lead_for` (`to="work"`), the predicate that also decides
whether the queue shows the cell's edit button. E-mail and phone are not in the queue,
so they are edited on the lead's page only.
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
from leads import services
from leads.access import LeadAction, lead_for, user_may
from leads.forms import LeadForm
from leads.models import Lead


def _fetch(user: User, pk: int, to: str) -> Model:
    action: LeadAction = "work" if to == "work" else "view"
    return lead_for(user, pk, to=action)


def _may_edit(user: User, lead: Model) -> bool:
    assert isinstance(lead, Lead)
    return user_may(user, "work", lead)


def _prefetch(user: User, leads: Sequence[Model]) -> None:
    # `manages_lead` reads the lead's team; the other predicates read the row itself.
    if user.is_manager:
        prefetch_related_objects(list(leads), "team")


def _form(lead: Model, user: User, data: QueryDict | None) -> BaseForm:
    assert isinstance(lead, Lead)
    if data is not None:
        return LeadForm(data)
    values = {name: getattr(lead, name) for name in services.EDITABLE_FIELDS}
    return LeadForm(initial={**values, "version": lead.version})


def _save(user: User, lead: Model, data: dict[str, Any], version: int) -> Model:
    return services.lead_update(lead_id=lead.pk, by=user, data=data, expected_version=version)


# Short values with no rule across fields; each as the queue shows it.
LEAD_INLINE = register(
    Lead,
    InlineEdit(
        fields={
            "company_name": InlineField(("company_name",), _("company"), is_link=True),
            "job_title": InlineField(("job_title",), _("job title")),
            "source": InlineField(("source",), _("source")),
            "campaign": InlineField(("campaign",), _("campaign")),
            "score": InlineField(("score",), _("score")),
        },
        fetch=_fetch,
        may_edit=_may_edit,
        prefetch=_prefetch,
        form=_form,
        save=_save,
        cell_url="leads:cell",
        edit_url="leads:cell_edit",
        value_template="leads/_inline_value.html",
    ),
)


@login_required
@require_GET
def lead_cell(request: AuthedHttpRequest, pk: int, field: str) -> HttpResponse:
    """The cell as the queue shows it (the editor's Cancel)."""
    return LEAD_INLINE.cell(request, pk, field)


@login_required
@require_http_methods(["GET", "POST"])
def lead_cell_edit(request: AuthedHttpRequest, pk: int, field: str) -> HttpResponse:
    """GET: the cell's editor. POST: save it through `lead_update`."""
    return LEAD_INLINE.edit(request, pk, field)
