"""Fetch an import for a user and authorize, or raise: the one door views, the API and
services go through (`imports.rules` decides)."""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from crm.exceptions import NotAllowed, NotFound
from crm.models import User
from imports.models import ImportJob

JobAction = Literal["view", "cancel"]


def jobs_visible_to(user: User) -> QuerySet[ImportJob]:
    """The imports `user` may see, as a query (the list pages; `can_view_job` as SQL)."""
    from django.db.models import Q

    jobs = ImportJob.objects.select_related("created_by", "created_by__team")
    if user.sees_everything:
        return jobs
    if user.is_manager:
        return jobs.filter(
            Q(created_by=user) | Q(created_by__manager=user) | Q(created_by__team__manager=user)
        )
    return jobs.filter(created_by=user)


def job_for(user: User, job_id: Any, *, to: JobAction = "view") -> ImportJob:
    """The import `job_id` if `user` may do `to` with it: `NotFound` when they may not see
    it (or it does not exist: the two read the same), `NotAllowed` when only `to` is not."""
    try:
        job = ImportJob.objects.select_related("created_by", "created_by__team").get(pk=job_id)
    except (ImportJob.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such import.")) from None
    if not user.has_perm("imports.view_job", job):
        raise NotFound(_("No such import."))
    if to == "cancel" and not user.has_perm("imports.cancel_job", job):
        raise NotAllowed(_("You may not stop this import."))
    return job


def _refusals(user: User) -> dict[str, str]:
    """What a refused user reads, by permission: who may, and (to an SDR, whom it concerns)
    who can change that."""
    return {
        "imports.import_leads": _(
            "Importing leads is for RevOps and managers. RevOps can let SDRs import their "
            "own leads in the import settings."
        )
        if user.is_sdr
        else _("Importing leads is for RevOps and managers."),
        "imports.view_settings": _("The import settings are for RevOps and managers."),
        "imports.change_settings": _("Only RevOps may change the import settings."),
    }


def require(user: User, permission: str) -> None:
    """Raise `NotAllowed` unless `user` has `permission` (`imports.import_leads`, ...)."""
    if not user.has_perm(permission):
        raise NotAllowed(_refusals(user).get(permission, _("You may not do this.")))
