"""The lead services: one function per use case, each in one transaction.

Each service locks the lead row, checks who may act and that the move is allowed, writes
the change plus its record (LeadTransition for status, LeadEvent for the rest), moves the
SLA clocks in the same transaction, and defers e-mail to after the commit. Browser, API
and admin all call these; none of them writes a lead directly.

Callers import this package (`from leads import services`); the modules split it by topic:
`intake` (lead_intake; lead_create skips deduplication), `assignment` (routing and
reassignment), `edits` (fields and the five criteria), `activities`, `lifecycle` (every
status move; `_transition` there is the only writer of Lead.status), `handoff` (SDR to
AE, discovery) and `merge`. `_locking` and `_records` hold what they all share.
Underscored names are internal to the package.
"""

from leads.services._locking import lock_row as lead_lock_row
from leads.services.activities import FIRST_CONTACT_KINDS, activity_complete, activity_log
from leads.services.assignment import lead_assign, owner_choices
from leads.services.edits import (
    EDITABLE_FIELDS,
    QUALIFICATION_FIELDS,
    lead_update,
    qualification_update,
)
from leads.services.handoff import ae_choices, lead_hand_off, lead_record_discovery
from leads.services.intake import IntakeResult, lead_create, lead_intake
from leads.services.lifecycle import (
    lead_accept,
    lead_disqualify,
    lead_lock,
    lead_mark_converted,
    lead_nurture,
    lead_qualify,
    lead_reject,
    lead_reopen,
)
from leads.services.merge import MergeResult, lead_merge

__all__ = [
    "EDITABLE_FIELDS",
    "IntakeResult",
    "MergeResult",
    "FIRST_CONTACT_KINDS",
    "QUALIFICATION_FIELDS",
    "activity_complete",
    "activity_log",
    "ae_choices",
    "lead_accept",
    "lead_assign",
    "lead_create",
    "lead_disqualify",
    "lead_hand_off",
    "lead_intake",
    "lead_lock",
    "lead_lock_row",
    "lead_mark_converted",
    "lead_merge",
    "lead_nurture",
    "lead_qualify",
    "lead_record_discovery",
    "lead_reject",
    "lead_reopen",
    "lead_update",
    "owner_choices",
    "qualification_update",
]
