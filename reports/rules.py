"""Who may do what in the reports. Every report is readable by every signed-in user (the
figures are scoped by the models' `visible_to`); these rules cover the rest, once, for the
views, the admin, the service and the templates' buttons."""

from __future__ import annotations

import rules

from crm.models import User
from leads.rules import sees_everything


@rules.predicate
def is_revops(user: User) -> bool:
    return user.is_authenticated and user.is_revops


@rules.predicate
def is_manager(user: User) -> bool:
    return user.is_authenticated and user.is_manager


# RevOps owns the benchmark ranges and thresholds; managers read them to judge the figures.
can_edit_benchmarks = is_revops
can_view_benchmarks = is_revops | is_manager
# The same for the MQL targets, the marketing side of the SLA framework.
can_edit_mql_targets = is_revops
can_view_mql_targets = is_revops | is_manager
# The marketing report compares company-wide MQL counts with the targets: for those who
# read the targets.
can_view_marketing = is_revops | is_manager
# Filtering by team or person is offered to those who see more than their own figures.
can_filter_by_people = sees_everything | is_manager

rules.add_perm("reports.edit_benchmarks", can_edit_benchmarks)
rules.add_perm("reports.view_benchmarks", can_view_benchmarks)
rules.add_perm("reports.filter_by_people", can_filter_by_people)
rules.add_perm("reports.edit_mql_targets", can_edit_mql_targets)
rules.add_perm("reports.view_mql_targets", can_view_mql_targets)
rules.add_perm("reports.view_marketing", can_view_marketing)
