"""Who may import leads and see an import (DOMAIN.md: RevOps and managers import; SDRs
their own leads, if RevOps allows), and who reads and edits the import settings."""

from __future__ import annotations

import rules

from crm.models import User
from imports.models import ImportJob, ImportSettings


@rules.predicate
def sees_everything(user: User) -> bool:
    return user.is_authenticated and user.sees_everything


@rules.predicate
def is_manager(user: User) -> bool:
    return user.is_authenticated and user.is_manager


@rules.predicate
def is_sdr_allowed_to_import(user: User) -> bool:
    """An SDR, while RevOps lets SDRs import their own leads (a row RevOps edits)."""
    if not (user.is_authenticated and user.is_sdr):
        return False
    row = ImportSettings.objects.filter(pk=ImportSettings.SINGLETON_ID).first()
    return row is not None and row.sdrs_may_import


@rules.predicate
def chooses_owners(user: User) -> bool:
    """May give an import's new leads to someone (a default owner, a team, an owner
    column): not an SDR, whose imported leads are their own (DOMAIN.md)."""
    return user.is_authenticated and not user.is_sdr


@rules.predicate
def started_it(user: User, job: ImportJob) -> bool:
    return job.created_by_id == user.pk


@rules.predicate
def manages_its_importer(user: User, job: ImportJob) -> bool:
    if not user.is_manager:
        return False
    importer = job.created_by
    return importer.manager_id == user.pk or (
        importer.team is not None and importer.team.manager_id == user.pk
    )


can_import = sees_everything | is_manager | is_sdr_allowed_to_import
can_view_job = sees_everything | started_it | manages_its_importer
# Stopping a run is for whoever started it, their manager and RevOps: those who see it.
can_cancel_job = can_view_job

rules.add_perm("imports.import_leads", can_import)
rules.add_perm("imports.view_job", can_view_job)
rules.add_perm("imports.cancel_job", can_cancel_job)
# The settings: RevOps edits, managers read, reps never see them.
rules.add_perm("imports.view_settings", sees_everything | is_manager)
rules.add_perm("imports.change_settings", sees_everything)
