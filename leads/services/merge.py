"""Merging two leads of one person into one (DOMAIN.md: one person, one live lead).

A manager of both leads, or RevOps, picks the surviving value of each field; everything
that happened to the duplicate moves to the survivor: activities, history (events and
status moves), hand-offs, SLA clocks (`LeadClocks.on_merge`), and the criteria the
survivor has not filled in. Nothing is deleted: the duplicate stays, read-only
(`leads.rules.is_merged_away`), pointing at the survivor (`merged_into`), closed as
disqualified where its lifecycle allows it, and both leads get a MERGED event with the
values taken over (old -> new), what moved, who, when and why.

**Converted leads are refused, on either side.** A converted lead's opportunity, account,
contact and conversion snapshot point at it, and its clocks and reports are settled;
merging it away would move a deal's origin, and merging into it would add history to a
lead that has left the funnel. Merge the other two ways round first, or leave the
converted lead as the person's previous lead (`Lead.previous_lead`).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.exceptions import NotAllowed, NotFound, Problem, ValidationFailed
from crm.models import User
from crm.versioning import apply_changes, as_jsonable, check_version, save_with_version_bump
from leads import gate
from leads.access import lead_for
from leads.clocks import clocks
from leads.models import (
    ALLOWED_TRANSITIONS,
    Activity,
    CriterionStatus,
    Handoff,
    Lead,
    LeadEvent,
    LeadTransition,
    Qualification,
)
from leads.services._locking import lock_for
from leads.services._records import keep_former_addresses, record_event
from leads.services.edits import EDITABLE_FIELDS, QUALIFICATION_FIELDS
from leads.services.lifecycle import _transition

Status = Lead.Status
# The fields a merge chooses between: everything a person may edit on a lead.
MERGE_FIELDS = EDITABLE_FIELDS
CHOICES = ("survivor", "duplicate")
# How far along the funnel an open lead is: a merge keeps the one further along, so the
# person's stage, hand-off and AE are never closed away with the duplicate.
FUNNEL_STAGE: dict[str, int] = {Status.NEW: 0, Status.MQL: 1, Status.SAL: 2, Status.SQL: 3}
# The survivor's MERGED event keeps the ids of the history rows that moved to it, under
# this key (`{"events": [...], "transitions": [...]}`): where they came from.
MOVED_ROWS = "moved_rows"


@dataclass(frozen=True)
class MergeResult:
    """The two leads after the merge, and how many rows of each kind moved."""

    survivor: Lead
    duplicate: Lead
    moved: dict[str, int] = field(default_factory=dict)


def merge_problems(survivor_id: Any, duplicate_id: Any, values: Mapping[str, Any]) -> list[Problem]:
    """What is wrong with a merge request before any lead is read: the field choices
    (`values.<field>`: a known field, "survivor" or "duplicate") and the pair itself."""
    problems = []
    if duplicate_id is not None and str(duplicate_id) == str(survivor_id):
        problems.append(_same_lead())
    for name, choice in values.items():
        if name not in MERGE_FIELDS:
            problems.append(
                Problem("unknown_field", f"values.{name}", _("This field cannot be merged."))
            )
        elif choice not in CHOICES:
            problems.append(
                Problem(
                    "invalid_choice",
                    f"values.{name}",
                    _("Choose 'survivor' or 'duplicate'."),
                )
            )
    return problems


def lead_merge(
    *,
    by: User,
    survivor: int,
    duplicate: int,
    values: Mapping[str, str] | None = None,
    reason: str = "",
    survivor_version: int | None = None,
    duplicate_version: int | None = None,
    at: datetime.datetime | None = None,
) -> MergeResult:
    """Merge lead `duplicate` into lead `survivor` (ids), keeping each field's value from
    the side `values` names. A field left out keeps the survivor's value, or takes the
    duplicate's where the survivor's is blank, so no answer is dropped by omission.

    Both rows are locked in id order (two merges of one pair cannot deadlock) and each is
    checked: `NotFound` when `by` may not see it, `NotAllowed` unless `by` may merge it
    (`leads.rules.can_merge_leads`: a manager of the lead, or RevOps), `StaleVersion`
    when it changed since the versions given. `at` dates the merge (now, unless a demo
    dates it on its own clock).
    """
    values = dict(values or {})
    problems = merge_problems(survivor, duplicate, values)
    if problems:
        raise ValidationFailed(problems=problems)
    now = at or timezone.now()
    sides = {survivor: "survivor", duplicate: "duplicate"}
    with transaction.atomic():
        locked = {pk: lead_to_merge(by, pk, side=sides[pk], lock=True) for pk in sorted(sides)}
        kept, gone = locked[survivor], locked[duplicate]
        check_version(kept.version, survivor_version)
        check_version(gone.version, duplicate_version)
        problems = merge_pair_problems(kept, gone)
        if problems:
            raise ValidationFailed(problems=problems)
        taken = _chosen_values(kept, gone, values)
        merged = {f: getattr(kept, f) for f in EDITABLE_FIELDS} | taken
        problems = gate.intake_problems(merged)
        if problems:
            raise ValidationFailed(problems=problems)
        note = reason.strip() or _("Same person as lead #%(id)s.") % {"id": gone.pk}

        changes = apply_changes(kept, taken)
        changes |= _take_over_hand_off(kept, gone)
        moved, moved_rows = _move_rows(kept, gone)
        moved["criteria"] = _fill_criteria(kept, gone, by=by, at=now)
        clocks().on_merge(survivor=kept, duplicate=gone, at=now)
        save_with_version_bump(kept, list(changes))
        if "email" in changes:  # the survivor took the duplicate's address: still its person's
            keep_former_addresses([(kept.pk, *changes["email"])])
        summary = {
            "merged_lead": [None, gone.pk],
            "moved": [None, moved],
            MOVED_ROWS: [None, moved_rows],
        }
        record_event(
            kept, LeadEvent.Kind.MERGED, by=by, at=now, changes=changes | summary, note=note
        )

        _close_duplicate(gone, into=kept, by=by, at=now, reason=reason.strip(), moved=moved)
    return MergeResult(survivor=kept, duplicate=gone, moved=moved)


def lead_to_merge(by: User, lead_id: Any, *, side: str, lock: bool = False) -> Lead:
    """Lead `lead_id`, if `by` may merge it (`leads.access.lead_for`, to="merge"), locked
    when `lock`; its refusal names `side` ("survivor" or "duplicate"), so an API client and
    the merge page can tell which of the two leads it concerns. A lead `by` may not see
    reads as no lead at all, as everywhere."""
    try:
        if lock:
            return lock_for(by, lead_id, to="merge")
        return lead_for(by, lead_id, to="merge")
    except NotFound:
        raise NotFound(problems=[Problem(NotFound.code, side, _("No such lead."))]) from None
    except NotAllowed:
        message = _("You may not merge lead #%(id)s: only a manager of it, or RevOps, may.")
        problem = Problem(NotAllowed.code, side, message % {"id": lead_id})
        raise NotAllowed(problems=[problem]) from None


def _same_lead() -> Problem:
    return Problem(
        "same_lead", "duplicate", _("Choose another lead: a lead is not its own duplicate.")
    )


def merge_pair_problems(survivor: Lead, duplicate: Lead) -> list[Problem]:
    """Why lead `duplicate` cannot be merged into lead `survivor`, whoever asks; empty
    when it can. The one rule: `lead_merge` checks it on the locked rows, the merge page
    before it offers the form."""
    if survivor.pk == duplicate.pk:
        return [_same_lead()]
    problems = []
    live = Lead.OPEN_STATUSES
    if survivor.status not in (*live, Status.CONVERTED) and (
        duplicate.status in live
        or (survivor.status == Status.DISQUALIFIED and duplicate.status != Status.DISQUALIFIED)
    ):
        # The person's live lead would close with the merge: keep it, merge the other.
        problems.append(
            Problem(
                "survivor_closed",
                "survivor",
                _(
                    "Lead #%(id)s is closed (%(status)s): keep lead #%(other)s and merge "
                    "this one into it."
                )
                % {
                    "id": survivor.pk,
                    "status": survivor.get_status_display(),
                    "other": duplicate.pk,
                },
            )
        )
    elif (
        survivor.status in live
        and duplicate.status in live
        and FUNNEL_STAGE[duplicate.status] > FUNNEL_STAGE[survivor.status]
    ):
        # The duplicate is further along: its stage (and hand-off) would be lost with it.
        problems.append(
            Problem(
                "survivor_behind",
                "survivor",
                _(
                    "Lead #%(other)s is further along (%(status)s): keep it and merge "
                    "lead #%(id)s into it."
                )
                % {
                    "id": survivor.pk,
                    "status": duplicate.get_status_display(),
                    "other": duplicate.pk,
                },
            )
        )
    for side, lead in (("survivor", survivor), ("duplicate", duplicate)):
        if lead.status == Status.CONVERTED:
            problems.append(
                Problem(
                    "lead_converted",
                    side,
                    _(
                        "Lead #%(id)s is converted: its opportunity and conversion record "
                        "point at it, so it cannot be merged."
                    )
                    % {"id": lead.pk},
                )
            )
        if lead.merged_into_id is not None:
            problems.append(
                Problem(
                    "already_merged",
                    side,
                    _("Lead #%(id)s was already merged into lead #%(into)s.")
                    % {"id": lead.pk, "into": lead.merged_into_id},
                )
            )
    return problems


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _chosen_values(kept: Lead, gone: Lead, values: Mapping[str, str]) -> dict[str, Any]:
    """The duplicate's values the survivor takes: those chosen, and those the survivor
    lacks where no choice was made."""
    taken = {}
    for name in MERGE_FIELDS:
        choice = values.get(name)
        theirs = getattr(gone, name)
        if choice == "duplicate" or (
            choice is None and _is_blank(getattr(kept, name)) and not _is_blank(theirs)
        ):
            taken[name] = theirs
    return taken


def _take_over_hand_off(kept: Lead, gone: Lead) -> dict[str, list[Any]]:
    """The duplicate's hand-off rows move over as history; when the survivor has none of
    its own, it takes the duplicate's AE and hand-off date with them, so the lead's fields
    and its hand-off rows tell one story (`gate.current_handoff`)."""
    if kept.handed_off_at is not None or gone.handed_off_at is None:
        return {}
    changes = {
        "ae": [as_jsonable(kept.ae), as_jsonable(gone.ae)],
        "handed_off_at": [None, as_jsonable(gone.handed_off_at)],
    }
    kept.ae = gone.ae
    kept.handed_off_at = gone.handed_off_at
    return changes


def _move_rows(kept: Lead, gone: Lead) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Everything that happened to the duplicate now belongs to the survivor. Set-based:
    one UPDATE per table, however long the duplicate's history.

    Returns the counts, and the ids of the history rows moved (events, status moves): the
    rows themselves keep no trace of where they came from, so the survivor's MERGED event
    keeps them (`MOVED_ROWS`) and its history can say "from lead #…" beside each."""
    events = LeadEvent.objects.filter(lead=gone)
    transitions = LeadTransition.objects.filter(lead=gone)
    rows = {
        "events": sorted(events.values_list("pk", flat=True)),
        "transitions": sorted(transitions.values_list("pk", flat=True)),
    }
    moved = {
        "activities": Activity.objects.filter(lead=gone).update(lead=kept),
        # Counted among the events, and told apart as the merge page tells them.
        "touches": events.filter(kind=LeadEvent.Kind.TOUCH).count(),
        "events": LeadEvent.objects.filter(pk__in=rows["events"]).update(lead=kept),
        "transitions": LeadTransition.objects.filter(pk__in=rows["transitions"]).update(lead=kept),
        "handoffs": Handoff.objects.filter(lead=gone).update(lead=kept),
    }
    return moved, rows


def moved_summary(moved: Mapping[str, int]) -> str:
    """What a merge moves, in words, the same wherever it is told (the merge page, the
    message after it, the history): "2 activities, 3 history entries (1 status move),
    1 hand-off". History entries are events and status moves together, as the history
    lists them; `touches`, when given, are counted among them too. Kinds with none are
    left out; nothing at all is ""."""
    history = moved.get("events", 0) + moved.get("transitions", 0)
    details = []
    if count := moved.get("transitions", 0):
        details.append(
            ngettext("%(count)d status move", "%(count)d status moves", count) % {"count": count}
        )
    if count := moved.get("touches", 0):
        details.append(ngettext("%(count)d touch", "%(count)d touches", count) % {"count": count})
    parts = []
    if count := moved.get("activities", 0):
        parts.append(
            ngettext("%(count)d activity", "%(count)d activities", count) % {"count": count}
        )
    if history:
        entries = ngettext("%(count)d history entry", "%(count)d history entries", history) % {
            "count": history
        }
        if details:
            entries = _("%(entries)s (%(details)s)") % {
                "entries": entries,
                "details": ", ".join(details),
            }
        parts.append(entries)
    if count := moved.get("handoffs", 0):
        parts.append(
            ngettext("%(count)d hand-off", "%(count)d hand-offs", count) % {"count": count}
        )
    if count := moved.get("criteria", 0):
        parts.append(
            ngettext("%(count)d qualification answer", "%(count)d qualification answers", count)
            % {"count": count}
        )
    return ", ".join(parts)


def _fill_criteria(kept: Lead, gone: Lead, *, by: User, at: datetime.datetime) -> int:
    """The duplicate's qualification answers where the survivor has none: a criterion
    status only where the survivor's is still unknown, any other field only where the
    survivor's is blank. Recorded as a QUALIFICATION event on the survivor; the
    duplicate's own record stays as it was."""
    theirs = Qualification.objects.filter(lead=gone).first()
    if theirs is None:
        return 0
    ours, _created = Qualification.objects.select_for_update().get_or_create(
        lead=kept, defaults={"updated_by": by}
    )
    fill = {}
    for name in QUALIFICATION_FIELDS:
        mine, other = getattr(ours, name), getattr(theirs, name)
        if name.endswith("_status"):
            if mine == CriterionStatus.UNKNOWN and other != CriterionStatus.UNKNOWN:
                fill[name] = other
        elif name != "framework" and _is_blank(mine) and not _is_blank(other):
            fill[name] = other
    changes = apply_changes(ours, fill)
    if not changes:
        return 0
    ours.version += 1
    ours.updated_by = by
    ours.save()
    record_event(
        kept,
        LeadEvent.Kind.QUALIFICATION,
        by=by,
        at=at,
        changes=changes,
        note=_("Taken over from lead #%(id)s, merged into this one.") % {"id": gone.pk},
    )
    return len(changes)


def _close_duplicate(
    gone: Lead, *, into: Lead, by: User, at: datetime.datetime, reason: str, moved: dict[str, int]
) -> None:
    """The duplicate points at the survivor and leaves the funnel: disqualified where its
    lifecycle allows (a rejected or already disqualified lead keeps its status; being
    merged away makes it read-only all the same). Its own MERGED event comes last, so
    it is the one thing its page shows besides the pointer."""
    # Its own note names where it went (the survivor's default names this lead).
    note = _("Merged into lead #%(id)s.") % {"id": into.pk}
    if reason:
        note = _("Merged into lead #%(id)s: %(note)s") % {"id": into.pk, "note": reason}
    changes: dict[str, list[Any]] = {"merged_into": [None, into.pk]}
    fields = ["merged_into"]
    gone.merged_into = into
    if gone.owner_id is None and gone.team_id is None and into.team_id is not None:
        # An unassigned lead is seen by managers only while open (`visible_to`): closed by
        # the merge, it joins the survivor's team, so the links to it still open for them.
        changes["team"] = [None, into.team_id]
        gone.team_id = into.team_id
        fields.append("team")
    if Status.DISQUALIFIED in ALLOWED_TRANSITIONS[gone.status]:
        changes["status"] = [gone.status, Status.DISQUALIFIED.value]
        _transition(gone, to=Status.DISQUALIFIED, by=by, reason=note, at=at)
        gone.disqualified_at = at
        gone.disqualification_note = note
        fields += ["status", "disqualified_at", "disqualification_note"]
    save_with_version_bump(gone, fields)
    clocks().on_close(lead=gone, at=at)
    changes["moved"] = [None, moved]
    record_event(gone, LeadEvent.Kind.MERGED, by=by, at=at, changes=changes, note=note)
