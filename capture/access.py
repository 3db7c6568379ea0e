"""Fetch a web form or an intake key for a user, or raise: one helper per kind, used by
the pages and the API alike (`NotAllowed` before any lookup: the settings are not secret,
so a refusal says nothing a 404 would hide)."""

from __future__ import annotations

from typing import Any, Literal

from django.utils.translation import gettext as _

from capture.models import IntakeKey, WebForm
from crm.exceptions import NotAllowed, NotFound
from crm.models import User

FormAction = Literal["view", "change"]
FORM_PERMISSIONS: dict[FormAction, str] = {
    "view": "capture.view_forms",
    "change": "capture.change_forms",
}
KEYS_PERMISSION = "capture.manage_intake_keys"


def may_forms(user: User, to: FormAction) -> bool:
    """May `user` read (`view`) or change the web forms? For buttons and read-only pages."""
    return bool(user.has_perm(FORM_PERMISSIONS[to]))


def require_forms(user: User, to: FormAction) -> None:
    if may_forms(user, to):
        return
    if to == "change":
        raise NotAllowed(_("Only RevOps may change web forms."))
    raise NotAllowed(_("Web forms are for managers and RevOps."))


def require_keys(user: User) -> None:
    if not user.has_perm(KEYS_PERMISSION):
        raise NotAllowed(_("Intake keys are for RevOps."))


def _pk(value: Any) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise NotFound(_("No such record.")) from None
    if not 0 < pk < 2**63:
        raise NotFound(_("No such record."))
    return pk


def web_form_for(user: User, form_id: Any, *, to: FormAction = "view") -> WebForm:
    """The web form `form_id`, if `user` may do `to` with it."""
    require_forms(user, to)
    try:
        return WebForm.objects.select_related("created_by").get(pk=_pk(form_id))
    except WebForm.DoesNotExist:
        raise NotFound(_("No such web form.")) from None


def intake_key_for(user: User, key_id: Any) -> IntakeKey:
    """The intake key `key_id`, for RevOps."""
    require_keys(user)
    try:
        return IntakeKey.objects.select_related("created_by", "revoked_by").get(pk=_pk(key_id))
    except IntakeKey.DoesNotExist:
        raise NotFound(_("No such intake key.")) from None
