"""Conversion and the pipeline: every write to an opportunity goes through here.

- `convert`: `lead_convert`, the one conversion path, and the gate it re-checks;
- `overrides`: asking to convert with a criterion unmet, and a manager's decision;
- `deals`: editing a deal, moving it between stages, approving or sending it back;
- `ownership`: handing a deal to another AE (the manager's or RevOps' call, audited);
- `configuration`: RevOps' stages and conversion policy, audited wherever edited.

Callers import from here: `from opportunities import services`.
"""

from __future__ import annotations

from crm.exceptions import ValidationFailed
from opportunities.exceptions import (
    AlreadyConverted,
    AlreadyDecided,
    NotReady,
    OverrideNotAllowed,
    OverridePending,
)
from opportunities.services.configuration import (
    conversion_policy_save,
    stage_delete,
    stage_save,
)
from opportunities.services.convert import conversion_check, existing_deals, lead_convert
from opportunities.services.deals import (
    EDITABLE_FIELDS,
    edit_problems,
    opportunity_approve,
    opportunity_move_stage,
    opportunity_send_back,
    opportunity_update,
    stage_exit_problems,
)
from opportunities.services.overrides import (
    conversion_request_approve,
    conversion_request_create,
    conversion_request_decline,
)
from opportunities.services.ownership import new_owner_choices, opportunity_change_owner

__all__ = [
    "EDITABLE_FIELDS",
    "AlreadyConverted",
    "AlreadyDecided",
    "NotReady",
    "OverrideNotAllowed",
    "OverridePending",
    "ValidationFailed",
    "conversion_check",
    "conversion_policy_save",
    "conversion_request_approve",
    "conversion_request_create",
    "conversion_request_decline",
    "edit_problems",
    "existing_deals",
    "lead_convert",
    "new_owner_choices",
    "opportunity_approve",
    "opportunity_change_owner",
    "opportunity_move_stage",
    "opportunity_send_back",
    "opportunity_update",
    "stage_delete",
    "stage_exit_problems",
    "stage_save",
]
