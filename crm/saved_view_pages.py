"""Saved views in the browser: the tabs above a list, opening a list with the role's
default view, and the small forms that save, update and delete a view.

A list page calls two helpers and includes `crm/_view_tabs.html`:

    if (default := open_default_view(request, "leads")) is not None:
        return default
    context |= list_views(request, "leads")

A list opened with no query at all opens the view RevOps made its role's default (a
redirect to that view's URL, so the tab shows and the URL can be shared); the "All" tab
is `?view=all`, which is a query, so it shows the list itself. Everything else is a
plain link: a tab is the list's URL with the view's query and `view=<id>`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.models import User
from crm.saved_view_services import (
    VIEW_PARAM,
    clean_query,
    default_view,
    may_edit,
    may_set_role_default,
    saved_view_create,
    saved_view_delete,
    saved_view_update,
    view_for,
    view_url_query,
    views_for_list,
)
from crm.saved_views import NAME_MAX, QUERY_MAX, ListKey
from crm.web.errors import set_back_url
from crm.web.requests import AuthedHttpRequest

ALL_VIEWS = "all"  # `?view=all`: the list itself, not the role's default view
COLUMNS_PARAM = "columns"


def _last_view_key(list_key: str) -> str:
    return f"last_view:{list_key}"


def open_default_view(request: AuthedHttpRequest, list_key: str) -> HttpResponse | None:
    """A list opened with no query (the sidebar's link) shows the view the user last had
    open on it in this session — the tab they chose, or `?view=all` — and else their role's
    default view: saving or picking a view is not undone by the next click on "Leads"."""
    if request.GET:
        return None
    last = request.session.get(_last_view_key(list_key))
    if last == ALL_VIEWS:
        return None
    view = None
    if last:
        view = next((v for v in views_for_list(request.user, list_key) if v.pk == last), None)
    if view is None:
        view = default_view(request.user, list_key)
    if view is None:
        return None
    return redirect(f"{request.path}?{view_url_query(view)}")


def _remember_view(request: AuthedHttpRequest, list_key: str, value: int | str) -> None:
    key = _last_view_key(list_key)
    if request.session.get(key) != value:  # a session write only when it changes
        request.session[key] = value


def list_views(request: AuthedHttpRequest, list_key: str) -> dict[str, Any]:
    """The context `crm/_view_tabs.html` reads: the tabs, the active one, the Save view form."""
    user = request.user
    active_id = request.GET.get(VIEW_PARAM, "")
    tabs = []
    active = None
    for view in views_for_list(user, list_key):
        is_active = str(view.pk) == active_id
        active = view if is_active else active
        tabs.append(
            {
                "view": view,
                "url": f"?{view_url_query(view)}",
                "active": is_active,
                "mine": view.owner_id == user.pk,
                "role_label": dict(User.Role.choices).get(view.default_for_role, ""),
            }
        )
    if active is not None:
        _remember_view(request, list_key, active.pk)
    elif active_id == ALL_VIEWS:
        _remember_view(request, list_key, ALL_VIEWS)
    return {
        "view_tabs": tabs,
        "active_view": active,
        "active_view_editable": active is not None and may_edit(user, active),
        "view_all_url": f"?{VIEW_PARAM}={ALL_VIEWS}",
        "view_list_key": list_key,
        "view_query": clean_query(request.GET.urlencode()),
        "view_next": request.path,
        "view_can_share": user.team_id is not None,
        "view_role_choices": User.Role.choices if may_set_role_default(user) else None,
        "view_name_max": NAME_MAX,
    }


# --- the forms ------------------------------------------------------------------------------


class SaveViewForm(forms.Form):
    list = forms.ChoiceField(choices=ListKey.choices)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=NAME_MAX, required=False)
    query = forms.CharField(max_length=QUERY_MAX, required=False)
    columns = forms.CharField(max_length=500, required=False)
    shared = forms.BooleanField(required=False)
    default_for_role = forms.ChoiceField(choices=[("", "—"), *User.Role.choices], required=False)
    next = forms.CharField(max_length=500, required=False)


def _with_columns(query: str, columns: str) -> str:
    """`query` with the columns the page showed (the list's own when none are given)."""
    params = QueryDict(query, mutable=True)
    params.pop(COLUMNS_PARAM, None)
    if columns.strip():
        params[COLUMNS_PARAM] = columns.strip()
    return params.urlencode()


def _list_path(request: HttpRequest, candidate: str) -> str:
    """The list page to go back to: a path on this site, else the home page."""
    if candidate.startswith("/") and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"


def _parsed(request: AuthedHttpRequest) -> tuple[dict[str, Any], str]:
    form = SaveViewForm(request.POST)
    form.is_valid()  # what does not parse is left out, and the service names what is missing
    data = form.cleaned_data
    back = _list_path(request, data.get("next") or "")
    query = clean_query(data.get("query") or "")
    set_back_url(request, f"{back}?{query}" if query else back)
    return data, back


@login_required
@require_POST
def saved_view_save(request: AuthedHttpRequest) -> HttpResponseRedirect:
    """Save the list's current filters, sort and columns as a new view, and open it."""
    data, back = _parsed(request)
    view = saved_view_create(
        by=request.user,
        list_key=data.get("list") or "",
        name=data.get("name") or "",
        query=_with_columns(data.get("query") or "", data.get("columns") or ""),
        shared=bool(data.get("shared")),
        default_for_role=data.get("default_for_role") or "",
    )
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(f"{back}?{view_url_query(view)}")


@login_required
@require_POST
def saved_view_replace(request: AuthedHttpRequest, pk: int) -> HttpResponseRedirect:
    """Keep the list's current filters, sort and columns in the open view."""
    data, back = _parsed(request)
    view = view_for(request.user, pk, to="edit")
    query = _with_columns(data.get("query") or "", data.get("columns") or "")
    view = saved_view_update(view_id=view.pk, by=request.user, data={"query": query})
    messages.success(request, _("View “%(name)s” updated.") % {"name": view.name})
    return redirect(f"{back}?{view_url_query(view)}")


@login_required
@require_POST
def saved_view_remove(request: AuthedHttpRequest, pk: int) -> HttpResponseRedirect:
    _data, back = _parsed(request)
    view = view_for(request.user, pk, to="edit")
    saved_view_delete(view_id=view.pk, by=request.user)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect(f"{back}?{VIEW_PARAM}={ALL_VIEWS}")


app_name = "saved_views"
urlpatterns = [
    path("save/", saved_view_save, name="save"),
    path("<int:pk>/update/", saved_view_replace, name="update"),
    path("<int:pk>/delete/", saved_view_remove, name="delete"),
]
