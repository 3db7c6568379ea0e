"""Saved views: who sees and changes which, the one place each change is made, and the
reads the list pages and the API share.

- **Reading**: a user sees their own views, the views their team shares, and the views
  that are their role's default (`visible_views`); RevOps also sees every role default,
  to manage them.
- **Changing**: the owner edits and deletes their own view; RevOps also edits and
  deletes role defaults, and only RevOps makes a view a role's default
  (`may_set_role_default`). Everyone else reads (`NotAllowed` on a change).
- **Writing**: `saved_view_create`, `saved_view_update`, `saved_view_delete`; each in one
  transaction, the row locked, the version checked, and a `SavedViewChange` written with
  who, when and old -> new. Making a view a role's default takes the role from the
  view that had it (audited too): one default per role and list.

A view's `query` is the list page's query string without its position (`cursor`,
`after`) or the view itself (`view`): what the list shows, never where in it one was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import rules
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import NotAllowed, NotFound, Problem, ValidationFailed
from crm.models import User
from crm.saved_views import NAME_MAX, QUERY_MAX, ListKey, SavedView, SavedViewChange
from crm.versioning import apply_changes, check_version

VIEW_PARAM = "view"
# Where in a list one was, never what it shows: not kept in a view.
POSITION_PARAMS = ("cursor", "after", VIEW_PARAM)
EDITABLE_FIELDS = ("name", "query", "shared", "default_for_role", "position")
ROLES = frozenset(User.Role.values)

ViewAction = Literal["view", "edit"]


# --- who may do what ----------------------------------------------------------------------------


@rules.predicate
def may_set_role_default(user: User) -> bool:
    """RevOps decides which view a role opens a list with."""
    return bool(user.is_authenticated and user.is_revops)


@rules.predicate
def may_edit(user: User, view: SavedView) -> bool:
    """The owner, and RevOps for a role's default."""
    if not user.is_authenticated:
        return False
    return view.owner_id == user.pk or (bool(view.default_for_role) and user.is_revops)


def visible_views(user: User) -> QuerySet[SavedView]:
    """The views `user` may read: own, shared with their team, their role's default (and
    for RevOps every role's default)."""
    if not user.is_authenticated:
        return SavedView.objects.none()
    seen = Q(owner=user) | Q(default_for_role=user.role)
    if user.team_id is not None:
        seen |= Q(shared=True, team_id=user.team_id)
    if user.is_revops:
        seen |= ~Q(default_for_role="")
    return SavedView.objects.filter(seen).select_related("owner")


def view_for(user: User, view_id: Any, *, to: ViewAction = "view") -> SavedView:
    """The view `view_id` if `user` may do `to` with it: `NotFound` when they may not see
    it (or it does not exist), `NotAllowed` when they may see but not change it."""
    try:
        view = visible_views(user).get(pk=int(view_id))
    except (SavedView.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound(_("No such saved view.")) from None
    if to == "edit" and not may_edit(user, view):
        raise NotAllowed(_("Only its owner changes a saved view (RevOps: a role's default)."))
    return view


# --- reads for the lists ------------------------------------------------------------------------


def views_for_list(user: User, list_key: str) -> list[SavedView]:
    """The tabs above a list: the user's own views in their order, then the team's, then
    role defaults, each group by position."""
    views = list(visible_views(user).filter(list_key=list_key).order_by("position", "pk"))
    return sorted(views, key=lambda v: (v.owner_id != user.pk, v.shared is False, v.position))


def default_view(user: User, list_key: str) -> SavedView | None:
    """The view `user`'s role opens `list_key` with, if RevOps set one."""
    if not user.is_authenticated:
        return None
    return (
        SavedView.objects.filter(list_key=list_key, default_for_role=user.role)
        .select_related("owner")
        .first()
    )


def clean_query(raw: str) -> str:
    """`raw` as a view keeps it: a query string without position parameters, encoded."""
    params = QueryDict(raw.lstrip("?"), mutable=True)
    for name in POSITION_PARAMS:
        params.pop(name, None)
    return params.urlencode()


def view_url_query(view: SavedView) -> str:
    """The list's query string that opens `view` (its tab's link, without the `?`)."""
    params = QueryDict(view.query, mutable=True)
    params[VIEW_PARAM] = str(view.pk)
    return params.urlencode()


# --- changes --------------------------------------------------------------------------------


def view_problems(
    data: Mapping[str, Any], *, by: User, view: SavedView | None = None
) -> list[Problem]:
    """Every problem of the values in `data` (a new view's, or a change to `view`)."""
    problems: list[Problem] = []
    if "list_key" in data and data["list_key"] not in ListKey.values:
        problems.append(Problem("invalid", "list", _("Choose one of the lists.")))
    if "name" in data:
        name = str(data["name"] or "").strip()
        if not name:
            problems.append(Problem("required", "name", _("Name the view.")))
        elif len(name) > NAME_MAX:
            problems.append(
                Problem("too_long", "name", _("At most %(max)d characters.") % {"max": NAME_MAX})
            )
        else:
            list_key = data.get("list_key") or (view.list_key if view else "")
            owner = view.owner if view else by
            clash = SavedView.objects.filter(owner=owner, list_key=list_key, name__iexact=name)
            if view is not None:
                clash = clash.exclude(pk=view.pk)
            if clash.exists():
                problems.append(
                    Problem("duplicate", "name", _("You already have a view with this name."))
                )
    if "query" in data and len(clean_query(str(data["query"] or ""))) > QUERY_MAX:
        problems.append(
            Problem("too_long", "query", _("At most %(max)d characters.") % {"max": QUERY_MAX})
        )
    role = data.get("default_for_role") or ""
    if role and role not in ROLES:
        problems.append(Problem("invalid", "default_for_role", _("Choose one of the roles.")))
    if role and not may_set_role_default(by) and (view is None or role != view.default_for_role):
        problems.append(
            Problem(
                "permission_denied",
                "default_for_role",
                _("Only RevOps makes a view a role's default."),
            )
        )
    if data.get("shared") and (view.owner if view else by).team_id is None:
        problems.append(
            Problem("no_team", "shared", _("You are in no team, so there is no one to share with."))
        )
    return problems


def _record(view: SavedView, *, by: User, action: str, changes: dict[str, Any]) -> None:
    SavedViewChange.objects.create(
        view=view if action != SavedViewChange.Action.DELETED else None,
        view_name=view.name,
        list_key=view.list_key,
        action=action,
        actor=by,
        at=timezone.now(),
        changes=changes,
    )


def _take_role_default(list_key: str, role: str, *, by: User, keep: int | None) -> None:
    """Take `role`'s default on `list_key` from the view that has it (one per role)."""
    if not role:
        return
    holders = SavedView.objects.select_for_update().filter(list_key=list_key, default_for_role=role)
    if keep is not None:
        holders = holders.exclude(pk=keep)
    for holder in holders:
        holder.default_for_role = ""
        holder.version += 1
        holder.save(update_fields=["default_for_role", "version", "updated_at"])
        changes = {"default_for_role": [role, ""]}
        _record(holder, by=by, action=SavedViewChange.Action.UPDATED, changes=changes)


@transaction.atomic
def saved_view_create(
    *,
    by: User,
    list_key: str,
    name: str,
    query: str = "",
    shared: bool = False,
    default_for_role: str = "",
    position: int | None = None,
) -> SavedView:
    """A new view of `list_key` owned by `by`, last among their views unless placed."""
    data = {
        "list_key": list_key,
        "name": name,
        "query": query,
        "shared": shared,
        "default_for_role": default_for_role,
    }
    problems = view_problems(data, by=by)
    if problems:
        raise ValidationFailed(problems=problems)
    if position is None:
        last = SavedView.objects.filter(owner=by, list_key=list_key).aggregate(Max("position"))
        position = (last["position__max"] or 0) + 1
    _take_role_default(list_key, default_for_role, by=by, keep=None)
    view = SavedView.objects.create(
        owner=by,
        list_key=list_key,
        name=name.strip(),
        query=clean_query(query),
        shared=shared,
        team_id=by.team_id if shared else None,
        default_for_role=default_for_role,
        position=position,
    )
    created = {field: [None, value] for field, value in data.items() if value not in ("", False)}
    _record(view, by=by, action=SavedViewChange.Action.CREATED, changes=created)
    return view


@transaction.atomic
def saved_view_update(
    *, view_id: int, by: User, data: Mapping[str, Any], expected_version: int | None = None
) -> SavedView:
    """Change the fields of `data` (`EDITABLE_FIELDS`) on a view `by` may edit."""
    view_for(by, view_id, to="edit")
    view = SavedView.objects.select_for_update().select_related("owner").get(pk=view_id)
    check_version(view.version, expected_version)
    unknown = sorted(set(data) - set(EDITABLE_FIELDS))
    problems = [Problem("unknown_field", name, _("Not a field of a view.")) for name in unknown]
    problems += view_problems(data, by=by, view=view)
    if problems:
        raise ValidationFailed(problems=problems)
    values = dict(data)
    if "name" in values:
        values["name"] = str(values["name"]).strip()
    if "query" in values:
        values["query"] = clean_query(str(values["query"] or ""))
    if "shared" in values:
        values["team_id"] = view.owner.team_id if values["shared"] else None
    role = values.get("default_for_role")
    if role and role != view.default_for_role:
        _take_role_default(view.list_key, role, by=by, keep=view.pk)
    changes = apply_changes(view, values)
    changes.pop("team_id", None)
    if changes:
        view.version += 1
        view.save()
        _record(view, by=by, action=SavedViewChange.Action.UPDATED, changes=changes)
    return view


@transaction.atomic
def saved_view_delete(*, view_id: int, by: User) -> None:
    """Delete a view `by` may edit; its audit rows stay, naming it."""
    view_for(by, view_id, to="edit")
    view = SavedView.objects.select_for_update().get(pk=view_id)
    _record(view, by=by, action=SavedViewChange.Action.DELETED, changes={})
    view.delete()
