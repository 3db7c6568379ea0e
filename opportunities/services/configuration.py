"""RevOps' pipeline configuration: stages and the conversion policy.

RevOps edits both on the settings pages (`opportunities.views.settings`) and over the API
(`opportunities.api.settings`); superusers may also use the Django admin. Every route
comes through here, so the rules are checked once and every change leaves a
`PolicyChange` row (who, when, old -> new), as every other rule RevOps owns does
(DOMAIN: "edited by RevOps in the product, with an audit"). Managers read the settings;
reps do not see them (`opportunities.rules`).

The stages as a whole keep what the rest of the product relies on: at least one active
stage converted leads may enter (the wizard offers only those), at least one active won
and one active lost stage (the board closes deals into them, reports count them). There
may be several won stages: Post-sale is one by default, next to Closed Won.

The conversion policy's service is `conversion_policy`, the permissions and the audit
`settings_support`; callers reach all three through this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exceptions import NotFound, Problem, ValidationFailed
from crm.models import User
from leads.gate import is_blank
from opportunities.conversion import CUSTOM_FIELDS
from opportunities.models import Opportunity, PolicyChange, Stage, field_label
from opportunities.services.conversion_policy import (
    MAX_THRESHOLD,
    POLICY_FIELDS,
    conversion_policy_problems,
    conversion_policy_save,
    conversion_policy_update,
    policy_values,
    threshold_problems,
)
from opportunities.services.settings_support import (
    MAX_DAYS,
    SETTINGS_PERMISSIONS,
    SettingsAction,
    SettingsEdit,
    full_clean,
    int_in,
    jsonable,
    may,
    record,
    refuse_unknown,
    require_settings_permission,
    settings_history,
    snapshot,
    stage_for,
    stage_names,
    stages_for_settings,
)

# --- what may be set ----------------------------------------------------------------------

STAGE_FIELDS = (
    "name",
    "position",
    "default_probability",
    "is_entry",
    "counts_as_early",
    "rot_days",
    "exit_required_fields",
    "is_won",
    "is_lost",
    "is_active",
)
# What a stage may ask for before a deal leaves it: the deal's text fields its owner fills
# in on the edit page, which `deals.stage_exit_problems` checks for blanks and placeholders.
EXIT_FIELDS = ("next_step", "discount_notes", *CUSTOM_FIELDS)
MAX_POSITION = 32767  # PositiveSmallIntegerField


def exit_field_choices() -> list[tuple[str, str]]:
    return [(name, field_label(Opportunity, name)) for name in EXIT_FIELDS]


# --- stages -------------------------------------------------------------------------------


def _locked_stages() -> list[Stage]:
    """Every stage, locked: stage edits are rare and the rules span the whole list."""
    return list(Stage.objects.select_for_update().order_by("position"))


def stage_values(stage: Stage) -> dict[str, Any]:
    return {name: getattr(stage, name) for name in STAGE_FIELDS}


def stage_problems(
    values: Mapping[str, Any],
    *,
    stage: Stage | None = None,
    others: Iterable[Stage] | None = None,
) -> list[Problem]:
    """Every reason `values` (all of `STAGE_FIELDS`) cannot be saved for `stage` (None:
    a new one); empty means they can. `others`: the other stages, if already loaded."""
    if others is None:
        others = Stage.objects.all()
    rest = [s for s in others if stage is None or s.pk != stage.pk]
    problems = _stage_field_problems(values, rest)
    if stage is not None:
        problems += _stage_deal_problems(values, stage)
        problems += _stage_list_problems(values, stage, rest)
    return problems


def _stage_field_problems(values: Mapping[str, Any], rest: list[Stage]) -> list[Problem]:
    problems: list[Problem] = []
    name = str(values.get("name") or "").strip()
    limit = Stage._meta.get_field("name").max_length or 60
    if is_blank(name):
        problems.append(Problem("required", "name", _("Name the stage.")))
    elif len(name) > limit:
        problems.append(
            Problem("too_long", "name", _("Keep it to %(n)s characters.") % {"n": limit})
        )
    elif any(s.name.casefold() == name.casefold() for s in rest):
        problems.append(Problem("duplicate", "name", _("Another stage has this name.")))
    position: Any = values.get("position")
    if not int_in(position, 0, MAX_POSITION):
        problems.append(
            Problem("out_of_range", "position", _("The position is a whole number, 0 or more."))
        )
    elif (shifted := _in_the_way(position, rest)) and shifted[-1].position >= MAX_POSITION:
        problems.append(
            Problem("out_of_range", "position", _("No room there: choose a lower number."))
        )
    if not int_in(values.get("default_probability"), 0, 100):
        problems.append(
            Problem(
                "out_of_range",
                "default_probability",
                _("The probability is a whole percentage from 0 to 100."),
            )
        )
    rot_days = values.get("rot_days")
    closed = bool(values.get("is_won")) or bool(values.get("is_lost"))
    if rot_days is not None and not int_in(rot_days, 1, MAX_DAYS):
        problems.append(
            Problem(
                "out_of_range",
                "rot_days",
                _("Stale after 1 to %(max)s days, or leave it empty.") % {"max": MAX_DAYS},
            )
        )
    elif rot_days is not None and closed:
        problems.append(
            Problem("closed_stage", "rot_days", _("Closed deals do not go stale: leave it empty."))
        )
    if values.get("is_won") and values.get("is_lost"):
        problems.append(Problem("won_and_lost", "is_lost", _("A stage is won or lost, not both.")))
    if closed and values.get("is_entry"):
        problems.append(
            Problem(
                "closed_stage", "is_entry", _("A converted lead cannot enter at a closed stage.")
            )
        )
    if closed and values.get("counts_as_early"):
        problems.append(
            Problem("closed_stage", "counts_as_early", _("A closed stage is not an early stage."))
        )
    exit_fields = values.get("exit_required_fields")
    if (
        not isinstance(exit_fields, list | tuple)
        or any(f not in EXIT_FIELDS for f in exit_fields)
        or len(set(exit_fields)) != len(exit_fields)
    ):
        problems.append(
            Problem(
                "invalid_choice",
                "exit_required_fields",
                _("Choose from: %s.") % ", ".join(EXIT_FIELDS),
            )
        )
    for flag in ("is_entry", "counts_as_early", "is_won", "is_lost", "is_active"):
        if not isinstance(values.get(flag), bool):
            problems.append(Problem("invalid", flag, _("Answer yes or no.")))
    return problems


def _in_the_way(position: int, rest: Iterable[Stage]) -> list[Stage]:
    """The stages that move down one to make room at `position`: the one there and each
    one right after it, up to the first gap."""
    shifted: list[Stage] = []
    for stage in sorted((s for s in rest if s.position >= position), key=lambda s: s.position):
        if stage.position != position + len(shifted):
            break
        shifted.append(stage)
    return shifted


def _make_room(position: int, rest: Iterable[Stage], *, by: User) -> None:
    """Move the stages in the way down one, last first (positions are unique), each
    move audited."""
    for stage in reversed(_in_the_way(position, rest)):
        Stage.objects.filter(pk=stage.pk).update(position=stage.position + 1)
        record(
            PolicyChange.Subject.STAGE,
            stage.pk,
            by=by,
            before={"position": stage.position},
            after={"position": stage.position + 1},
        )
        stage.position += 1


def _free_position(taken: set[int]) -> int:
    return next(n for n in range(len(taken) + 1) if n not in taken)


def _stage_deal_problems(values: Mapping[str, Any], stage: Stage) -> list[Problem]:
    """A stage that holds deals keeps what makes them open or closed, and is not retired
    from under them."""
    problems = []
    deals = Opportunity.objects.filter(stage=stage)
    if stage.is_active and values.get("is_active") is False and deals.exists():
        count = deals.count()
        problems.append(
            Problem(
                "stage_has_deals",
                "is_active",
                _(
                    "%(n)d deals are in %(stage)s. Move them to another stage first (on the "
                    "board or each deal's page), then retire it."
                )
                % {"n": count, "stage": stage.name},
            )
        )
    outcome_changes = (values.get("is_won"), values.get("is_lost")) != (stage.is_won, stage.is_lost)
    if outcome_changes and deals.exists():
        problems.append(
            Problem(
                "stage_has_deals",
                "is_won" if values.get("is_won") != stage.is_won else "is_lost",
                _(
                    "Deals are in %(stage)s, so whether it is open, won or lost cannot change: "
                    "it would close or reopen them without a stage move. Add a new stage instead."
                )
                % {"stage": stage.name},
            )
        )
    return problems


def _stage_list_problems(
    values: Mapping[str, Any], stage: Stage, rest: list[Stage]
) -> list[Problem]:
    """The list as a whole keeps an entry, a won and a lost stage. Only an edit that takes
    the last one away is refused (a list already missing one does not block other edits)."""
    problems = []
    active = values.get("is_active") is True
    for flag, message in (
        ("is_entry", _("Keep at least one active stage that converted leads may enter.")),
        ("is_won", _("Keep at least one active closed-won stage.")),
        ("is_lost", _("Keep at least one active closed-lost stage.")),
    ):
        had = stage.is_active and getattr(stage, flag)
        has = active and bool(values.get(flag))
        if had and not has and not any(s.is_active and getattr(s, flag) for s in rest):
            field = flag if values.get(flag) is False else "is_active"
            problems.append(Problem("last_of_its_kind", field, message))
    return problems


def _stage_snapshot(stage: Stage) -> dict[str, Any]:
    return snapshot(stage, STAGE_FIELDS)


def _clean_stage_values(values: Mapping[str, Any]) -> dict[str, Any]:
    clean = dict(values)
    clean["name"] = str(clean["name"]).strip()
    # Kept in the deal form's order, so the audit does not record a mere reordering.
    clean["exit_required_fields"] = [f for f in EXIT_FIELDS if f in clean["exit_required_fields"]]
    return clean


def next_free_position() -> int:
    """Where a new stage goes unless RevOps says otherwise: after the last one."""
    last = Stage.objects.aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 1


def new_stage_values(data: Mapping[str, Any], others: Iterable[Stage]) -> dict[str, Any]:
    """A new stage's settings: `data` over the defaults (last position, open, active)."""
    return {
        "name": "",
        "position": max((s.position for s in others), default=-1) + 1,
        "default_probability": None,
        "is_entry": False,
        "counts_as_early": False,
        "rot_days": None,
        "exit_required_fields": [],
        "is_won": False,
        "is_lost": False,
        "is_active": True,
        **data,
    }


def stage_create(*, by: User, data: Mapping[str, Any]) -> Stage:
    """Add a pipeline stage: at the end, or at `position` (the stage there and those right
    after it move down one)."""
    require_settings_permission(by, "change")
    refuse_unknown(data, STAGE_FIELDS)
    with transaction.atomic():
        others = _locked_stages()
        values = new_stage_values(data, others)
        problems = stage_problems(values, others=others)
        if problems:
            raise ValidationFailed(problems=problems)
        stage = Stage(**_clean_stage_values(values))
        full_clean(stage)
        _make_room(stage.position, others, by=by)
        stage.save()
        record(PolicyChange.Subject.STAGE, stage.pk, by=by, before={}, after=_stage_snapshot(stage))
    return stage


def stage_update(*, stage_id: int, by: User, data: Mapping[str, Any]) -> SettingsEdit:
    """Change a stage's settings (any of `STAGE_FIELDS`); records old -> new. A new
    `position` that is taken moves the stage there, and those right after it, down one."""
    require_settings_permission(by, "change")
    refuse_unknown(data, STAGE_FIELDS)
    with transaction.atomic():
        stages = _locked_stages()
        stage = next((s for s in stages if s.pk == stage_id), None)
        if stage is None:
            raise NotFound(_("No such stage."))
        values = stage_values(stage) | dict(data)
        problems = stage_problems(values, stage=stage, others=stages)
        if problems:
            raise ValidationFailed(problems=problems)
        before = _stage_snapshot(stage)
        for name, value in _clean_stage_values(values).items():
            setattr(stage, name, value)
        full_clean(stage)
        if stage.position != before["position"]:
            rest = [s for s in stages if s.pk != stage.pk]
            # Off its old number first, so the stages in the way may take it.
            room = range(stage.position, stage.position + len(rest) + 1)
            taken = {s.position for s in rest} | {before["position"], *room}
            Stage.objects.filter(pk=stage.pk).update(position=_free_position(taken))
            _make_room(stage.position, rest, by=by)
        stage.save()
        change = record(
            PolicyChange.Subject.STAGE,
            stage.pk,
            by=by,
            before=before,
            after=_stage_snapshot(stage),
        )
    return SettingsEdit(change=change)


def stage_move(*, stage_id: int, by: User, direction: str) -> SettingsEdit:
    """Swap a stage with its neighbour in the pipeline's order (each one's position
    change audited). `direction` is "up" or "down"; already first (or last): nothing
    changes."""
    require_settings_permission(by, "change")
    if direction not in ("up", "down"):
        raise ValidationFailed(
            problems=[Problem("invalid_choice", "direction", _("Move a stage up or down."))]
        )
    with transaction.atomic():
        stages = _locked_stages()
        index = next((i for i, s in enumerate(stages) if s.pk == stage_id), None)
        if index is None:
            raise NotFound(_("No such stage."))
        other_index = index - 1 if direction == "up" else index + 1
        if not 0 <= other_index < len(stages):
            return SettingsEdit()
        stage, other = stages[index], stages[other_index]
        mine, theirs = stage.position, other.position
        # Positions are unique: park one stage on a free number while the other takes its
        # place.
        Stage.objects.filter(pk=stage.pk).update(
            position=_free_position({s.position for s in stages})
        )
        Stage.objects.filter(pk=other.pk).update(position=mine)
        Stage.objects.filter(pk=stage.pk).update(position=theirs)
        change = None
        for moved, old, new in ((stage, mine, theirs), (other, theirs, mine)):
            row = record(
                PolicyChange.Subject.STAGE,
                moved.pk,
                by=by,
                before={"position": old},
                after={"position": new},
            )
            change = change or row
    return SettingsEdit(change=change)


def stage_delete_problems(stage: Stage, *, with_them: Iterable[Stage] = ()) -> list[Problem]:
    """Why `stage` cannot be removed (together `with_them`, the admin's bulk delete). Only
    the admin deletes; the pages retire stages instead."""
    problems = []
    if Opportunity.objects.filter(stage=stage).exists():
        problems.append(
            Problem("stage_has_deals", None, _("Deals are in this stage: move them first."))
        )
    gone = {stage.pk, *(s.pk for s in with_them)}
    rest = list(Stage.objects.exclude(pk__in=gone))
    retired = {**stage_values(stage), "is_active": False}
    problems += _stage_list_problems(retired, stage, rest)
    return problems


def stage_delete(*, stage: Stage, by: User) -> None:
    """Remove a stage no deal is in (deals protect the stages of their history), keeping
    what it was."""
    require_settings_permission(by, "change")
    with transaction.atomic():
        _locked_stages()
        problems = stage_delete_problems(stage)
        if problems:
            raise ValidationFailed(problems=problems)
        old, pk = _stage_snapshot(stage), stage.pk
        stage.delete()
        PolicyChange.objects.create(
            model=PolicyChange.Subject.STAGE,
            object_id=pk,
            actor=by,
            at=timezone.now(),
            old=old,
            new={},
        )


def stage_save(*, stage: Stage, by: User) -> Stage:
    """Create or edit `stage` from its attributes (the admin's form sets them)."""
    data = {name: jsonable(getattr(stage, name)) for name in STAGE_FIELDS}
    if stage.pk is None:
        created = stage_create(by=by, data=data)
        stage.pk = created.pk
        return stage
    stage_update(stage_id=stage.pk, by=by, data=data)
    return stage


# The pages, the API and the admin reach the settings, reads and permissions included,
# through this module.
__all__ = [
    "EXIT_FIELDS",
    "MAX_DAYS",
    "MAX_POSITION",
    "MAX_THRESHOLD",
    "POLICY_FIELDS",
    "SETTINGS_PERMISSIONS",
    "STAGE_FIELDS",
    "SettingsAction",
    "SettingsEdit",
    "conversion_policy_problems",
    "conversion_policy_save",
    "conversion_policy_update",
    "exit_field_choices",
    "may",
    "new_stage_values",
    "next_free_position",
    "policy_values",
    "require_settings_permission",
    "settings_history",
    "stage_create",
    "stage_delete",
    "stage_delete_problems",
    "stage_for",
    "stage_move",
    "stage_names",
    "stage_problems",
    "stage_save",
    "stage_update",
    "stage_values",
    "stages_for_settings",
    "threshold_problems",
]
