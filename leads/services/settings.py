"""RevOps edits the leads settings: routing rules, rejection and disqualification reasons.

One set of rules for the settings pages, the API and the Django admin. Every change is
checked here, made in one transaction and recorded as a `SettingChange` (who, when,
old -> new). Managers read the settings; only RevOps (and admins) change them.
Rules and reasons are retired (deactivated), never deleted: leads and reports keep
pointing at them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from crm.exceptions import NotAllowed, NotFound, Problem, ValidationFailed
from crm.models import Team, User
from leads import gate
from leads.models import (
    DisqualificationReason,
    Reason,
    RejectionReason,
    RoutingRule,
    Segment,
    SettingChange,
    Source,
)
from leads.services.assignment import MATCH_FIELDS

SettingsAction = Literal["view", "change"]
PERMISSIONS: dict[SettingsAction, str] = {
    "view": "leads.view_settings",
    "change": "leads.change_settings",
}

ReasonKind = Literal["rejection", "disqualification"]
REASON_KINDS: tuple[ReasonKind, ...] = ("rejection", "disqualification")
AnyReason = RejectionReason | DisqualificationReason
ReasonModel = type[RejectionReason] | type[DisqualificationReason]
REASON_MODELS: dict[str, ReasonModel] = {
    "rejection": RejectionReason,
    "disqualification": DisqualificationReason,
}
AUDIT_KINDS: dict[str, str] = {
    "rejection": SettingChange.Kind.REJECTION_REASON,
    "disqualification": SettingChange.Kind.DISQUALIFICATION_REASON,
}

RULE_FIELDS = (
    "name",
    "position",
    "is_active",
    "strategy",
    "team",
    "match_source",
    "match_segment",
    "match_territory",
    "match_country",
    "match_campaign",
)
RULE_TEXT_FIELDS = ("name", "match_territory", "match_country", "match_campaign")
REASON_FIELDS = ("code", "label", "position", "is_active")
MAX_POSITION = 32767  # PositiveSmallIntegerField
_COUNTRY = re.compile(r"[A-Z]{2}")

M = TypeVar("M", bound=models.Model)


@dataclass
class SettingEdit(Generic[M]):
    """The outcome of an edit: the saved object and what changed (old -> new)."""

    obj: M
    old: dict[str, Any] = field(default_factory=dict)
    new: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.old or self.new)


# --- who may ---------------------------------------------------------------------------------


def may(user: User, to: SettingsAction) -> bool:
    """May `user` read (`view`) or change the leads settings? For buttons and read-only forms."""
    return bool(user.has_perm(PERMISSIONS[to]))


def require_settings_permission(user: User, to: SettingsAction) -> None:
    """`NotAllowed` unless `user` may do `to`. Settings are not secret, so the refusal
    comes before any lookup: a 403, never a 404 that would say more."""
    if may(user, to):
        return
    if to == "change":
        raise NotAllowed(_("Only RevOps may change routing rules and reasons."))
    raise NotAllowed(_("The leads settings are for managers and RevOps."))


def routing_rule_for(user: User, rule_id: Any, *, to: SettingsAction = "view") -> RoutingRule:
    """The routing rule `rule_id`, if `user` may do `to` with it (`NotAllowed`, `NotFound`)."""
    require_settings_permission(user, to)
    try:
        return RoutingRule.objects.select_related("team", "last_assigned").get(pk=rule_id)
    except (RoutingRule.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such routing rule.")) from None


def reason_for(user: User, kind: str, reason_id: Any, *, to: SettingsAction = "view") -> AnyReason:
    """The reason `reason_id` of the list `kind`, if `user` may do `to` with it."""
    require_settings_permission(user, to)
    model = _reason_model(kind)
    try:
        return model.objects.get(pk=reason_id)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such reason.")) from None


# --- routing rules ---------------------------------------------------------------------------


def routing_rule_snapshot(rule: RoutingRule) -> dict[str, Any]:
    """The editable settings as plain JSON, as the audit records them."""
    return {
        "name": rule.name,
        "position": rule.position,
        "is_active": rule.is_active,
        "strategy": rule.strategy,
        "team": rule.team.name if rule.team_id else None,
        "match_source": rule.match_source,
        "match_segment": rule.match_segment,
        "match_territory": rule.match_territory,
        "match_country": rule.match_country,
        "match_campaign": rule.match_campaign,
    }


def routing_rule_problems(
    values: Mapping[str, Any], *, rule: RoutingRule | None = None
) -> list[Problem]:
    """Every reason `values` (the RULE_FIELDS) cannot be saved; empty means they can."""
    problems: list[Problem] = []
    name = values.get("name")
    if gate.is_blank(name):
        problems.append(Problem("required", "name", _("Give the rule a name.")))
    elif not isinstance(name, str) or len(name.strip()) > 100:
        problems.append(Problem("too_long", "name", _("At most 100 characters.")))
    else:
        same = RoutingRule.objects.annotate(lower=Lower("name")).filter(lower=name.strip().lower())
        if rule is not None:
            same = same.exclude(pk=rule.pk)
        if same.exists():
            problems.append(Problem("duplicate", "name", _("Another rule has this name.")))
    problems += _position_problems(values.get("position"))
    if not isinstance(values.get("is_active"), bool):
        problems.append(Problem("invalid", "is_active", _("Active is true or false.")))
    strategy = values.get("strategy")
    if strategy not in RoutingRule.Strategy.values:
        problems.append(Problem("invalid_choice", "strategy", _("Choose a strategy.")))
    if not isinstance(values.get("team"), Team):
        problems.append(Problem("required", "team", _("Choose the team that gets the leads.")))
    for name_, allowed in (("match_source", Source.values), ("match_segment", Segment.values)):
        if values.get(name_) not in ("", *allowed):
            problems.append(
                Problem("invalid_choice", name_, _("Choose from: %s.") % ", ".join(allowed))
            )
    for name_, limit in (("match_territory", 100), ("match_campaign", 150)):
        text = values.get(name_)
        if not isinstance(text, str):
            problems.append(Problem("invalid", name_, _("Enter text, or leave it blank.")))
        elif len(text) > limit:
            problems.append(
                Problem("too_long", name_, _("At most %(n)d characters.") % {"n": limit})
            )
    country = values.get("match_country")
    if not isinstance(country, str) or (country and not _COUNTRY.fullmatch(country)):
        problems.append(
            Problem(
                "invalid",
                "match_country",
                _("A two-letter ISO 3166 country code (e.g. ID, SG), or blank."),
            )
        )
    if strategy == RoutingRule.Strategy.TERRITORY and not any(
        values.get(n) for n in ("match_territory", "match_segment", "match_country")
    ):
        problems.append(
            Problem(
                "territory_required",
                "match_territory",
                _("A “by territory” rule names a territory, a segment or a country."),
            )
        )
    return problems


def _position_problems(position: Any) -> list[Problem]:
    if (
        not isinstance(position, int)
        or isinstance(position, bool)
        or not 0 <= position <= MAX_POSITION
    ):
        return [
            Problem(
                "out_of_range",
                "position",
                _("The position is a whole number from 0 to %(n)d.") % {"n": MAX_POSITION},
            )
        ]
    return []


def routing_rule_values(
    data: Mapping[str, Any], *, rule: RoutingRule | None = None
) -> dict[str, Any]:
    """The rule as it would be saved: `rule`'s settings (or a new rule's defaults: active,
    round robin, last in the order) with `data` over them, text trimmed, the country code
    in capitals. What `routing_rule_problems` checks and the create and update save."""
    if rule is not None:
        base = {name: getattr(rule, name) for name in RULE_FIELDS}
    else:
        last = RoutingRule.objects.aggregate(last=models.Max("position"))["last"]
        base = {
            "name": "",
            "position": min(MAX_POSITION, (last + 1) if last is not None else 0),
            "is_active": True,
            "strategy": RoutingRule.Strategy.ROUND_ROBIN,
            "team": None,
            **dict.fromkeys(f"match_{name}" for name in MATCH_FIELDS),
        }
    values = base | dict(data)
    for name in RULE_FIELDS:
        if name.startswith("match_") and values.get(name) is None:
            values[name] = ""
        if name in RULE_TEXT_FIELDS and isinstance(values.get(name), str):
            values[name] = " ".join(values[name].split())
    if isinstance(values.get("match_country"), str):
        values["match_country"] = values["match_country"].upper()
    return values


def routing_rule_create(*, by: User, data: Mapping[str, Any]) -> RoutingRule:
    """A new rule, last in the order unless a position is given."""
    require_settings_permission(by, "change")
    _refuse_unknown(data, set(RULE_FIELDS))
    with transaction.atomic():
        values = routing_rule_values(data)
        problems = routing_rule_problems(values)
        if problems:
            raise ValidationFailed(problems=problems)
        rule = RoutingRule.objects.create(**values)
        _audit(
            SettingChange.Kind.ROUTING_RULE, rule, rule.name, by=by, new=routing_rule_snapshot(rule)
        )
    return rule


def routing_rule_update(
    *, rule_id: int, by: User, data: Mapping[str, Any]
) -> SettingEdit[RoutingRule]:
    """Change a rule's settings; leads routed from now on follow them."""
    require_settings_permission(by, "change")
    _refuse_unknown(data, set(RULE_FIELDS))
    with transaction.atomic():
        rule = _locked(
            RoutingRule.objects.select_related("team"), rule_id, _("No such routing rule.")
        )
        before = routing_rule_snapshot(rule)
        values = routing_rule_values(data, rule=rule)
        problems = routing_rule_problems(values, rule=rule)
        if problems:
            raise ValidationFailed(problems=problems)
        for name, value in values.items():
            setattr(rule, name, value)
        rule.save(update_fields=list(RULE_FIELDS))
        edit = _diff(rule, before, routing_rule_snapshot(rule))
        if edit.changed:
            _audit(
                SettingChange.Kind.ROUTING_RULE, rule, rule.name, by=by, old=edit.old, new=edit.new
            )
    return edit


def routing_rule_set_active(*, rule_id: int, by: User, is_active: bool) -> SettingEdit[RoutingRule]:
    """Retire a rule (leads stop following it) or bring it back."""
    return routing_rule_update(rule_id=rule_id, by=by, data={"is_active": is_active})


def routing_rules_reorder(*, by: User, order: Sequence[Any]) -> list[SettingChange]:
    """Put the rules in `order` (every rule's id, once): positions 0, 1, 2, ... The first
    matching rule wins, so this is the order routing tries them in. Each rule whose
    position changed gets an audit row."""
    require_settings_permission(by, "change")
    with transaction.atomic():
        rules = {
            rule.pk: rule
            for rule in RoutingRule.objects.select_for_update(of=("self",)).order_by("pk")
        }
        ids = list(order) if isinstance(order, list | tuple) else None
        if (
            ids is None
            or any(not isinstance(i, int) or isinstance(i, bool) for i in ids)
            or sorted(ids) != sorted(rules)
        ):
            raise ValidationFailed(
                problems=[
                    Problem(
                        "invalid",
                        "order",
                        _("List the id of every routing rule once, in the order to try them."),
                    )
                ]
            )
        changes = []
        for position, pk in enumerate(ids):
            rule = rules[pk]
            if rule.position == position:
                continue
            old = {"position": rule.position}
            rule.position = position
            rule.save(update_fields=["position"])
            changes.append(
                _audit(
                    SettingChange.Kind.ROUTING_RULE,
                    rule,
                    rule.name,
                    by=by,
                    old=old,
                    new={"position": position},
                )
            )
    return changes


def routing_rule_move(*, rule_id: int, by: User, offset: int) -> list[SettingChange]:
    """Move a rule `offset` places earlier (negative) or later in the order."""
    require_settings_permission(by, "change")
    ids = list(RoutingRule.objects.order_by("position", "pk").values_list("pk", flat=True))
    if rule_id not in ids:
        raise NotFound(_("No such routing rule."))
    index = ids.index(rule_id)
    target = max(0, min(len(ids) - 1, index + offset))
    ids.insert(target, ids.pop(index))
    return routing_rules_reorder(by=by, order=ids)


# --- rejection and disqualification reasons --------------------------------------------------


def reason_snapshot(reason: Reason) -> dict[str, Any]:
    return {
        "code": reason.code,
        "label": reason.label,
        "position": reason.position,
        "is_active": reason.is_active,
    }


def reason_problems(
    kind: str, values: Mapping[str, Any], *, reason: Reason | None = None
) -> list[Problem]:
    """Every reason `values` cannot be saved to the list `kind`; empty means they can."""
    model = _reason_model(kind)
    others = model.objects.all() if reason is None else model.objects.exclude(pk=reason.pk)
    problems: list[Problem] = []
    label = values.get("label")
    if gate.is_blank(label):
        problems.append(Problem("required", "label", _("Write the reason as people read it.")))
    elif not isinstance(label, str) or len(label) > 150:
        problems.append(Problem("too_long", "label", _("At most 150 characters.")))
    elif others.annotate(lower=Lower("label")).filter(lower=label.lower()).exists():
        problems.append(Problem("duplicate", "label", _("This list already has that reason.")))
    code = values.get("code")
    if reason is not None and code != reason.code:
        problems.append(
            Problem("read_only", "code", _("A reason's code cannot change; add a new one."))
        )
    elif not isinstance(code, str) or not code or len(code) > 50 or slugify(code) != code:
        problems.append(
            Problem(
                "invalid",
                "code",
                _("The code is up to 50 lower-case letters, digits and hyphens."),
            )
        )
    elif others.filter(code=code).exists():
        problems.append(Problem("duplicate", "code", _("Another reason has this code.")))
    problems += _position_problems(values.get("position"))
    is_active = values.get("is_active")
    if not isinstance(is_active, bool):
        problems.append(Problem("invalid", "is_active", _("Active is true or false.")))
    elif not is_active and not others.filter(is_active=True).exists():
        problems.append(
            Problem(
                "last_active",
                "is_active",
                _("Keep at least one active reason: people must be able to choose one."),
            )
        )
    return problems


def reason_values(
    kind: str, data: Mapping[str, Any], *, reason: Reason | None = None
) -> dict[str, Any]:
    """The reason as it would be saved: `reason`'s values (or a new one's: active, last in
    its list, a code made from the label) with `data` over them, the label trimmed."""
    model = _reason_model(kind)
    if reason is not None:
        values = reason_snapshot(reason) | dict(data)
    else:
        last = model.objects.aggregate(last=models.Max("position"))["last"]
        values = {
            "code": "",
            "label": "",
            "position": min(MAX_POSITION, (last + 1) if last is not None else 0),
            "is_active": True,
            **data,
        }
    if isinstance(values["label"], str):
        values["label"] = " ".join(values["label"].split())
    if reason is None and not values["code"] and isinstance(values["label"], str):
        values["code"] = _free_code(model, values["label"])
    return values


def reason_create(*, kind: str, by: User, data: Mapping[str, Any]) -> AnyReason:
    """A new reason at the end of its list; its code is made from the label if not given."""
    require_settings_permission(by, "change")
    model = _reason_model(kind)
    _refuse_unknown(data, set(REASON_FIELDS))
    with transaction.atomic():
        values = reason_values(kind, data)
        problems = reason_problems(kind, values)
        if problems:
            raise ValidationFailed(problems=problems)
        reason = model.objects.create(**values)
        _audit(AUDIT_KINDS[kind], reason, reason.label, by=by, new=reason_snapshot(reason))
    return reason


def reason_update(
    *, kind: str, reason_id: int, by: User, data: Mapping[str, Any]
) -> SettingEdit[Reason]:
    """Relabel, reorder, retire or restore a reason. Its code stays: integrations and
    past leads know it by that."""
    require_settings_permission(by, "change")
    model = _reason_model(kind)
    _refuse_unknown(data, set(REASON_FIELDS))
    with transaction.atomic():
        reason = _locked(model.objects.all(), reason_id, _("No such reason."))
        before = reason_snapshot(reason)
        values = reason_values(kind, data, reason=reason)
        problems = reason_problems(kind, values, reason=reason)
        if problems:
            raise ValidationFailed(problems=problems)
        for name in REASON_FIELDS:
            setattr(reason, name, values[name])
        reason.save(update_fields=list(REASON_FIELDS))
        edit: SettingEdit[Reason] = _diff(reason, before, reason_snapshot(reason))
        if edit.changed:
            _audit(AUDIT_KINDS[kind], reason, reason.label, by=by, old=edit.old, new=edit.new)
    return edit


def reason_set_active(
    *, kind: str, reason_id: int, by: User, is_active: bool
) -> SettingEdit[Reason]:
    """Retire a reason (no longer offered; leads that used it keep it) or bring it back."""
    return reason_update(kind=kind, reason_id=reason_id, by=by, data={"is_active": is_active})


# --- shared ----------------------------------------------------------------------------------


def _reason_model(kind: str) -> ReasonModel:
    try:
        return REASON_MODELS[kind]
    except KeyError:
        raise NotFound(_("No such list of reasons.")) from None


def _free_code(model: ReasonModel, label: str) -> str:
    """A slug of `label` no reason of `model` uses yet ("no-budget", "no-budget-2", ...)."""
    base = slugify(label)[:45].strip("-") or "reason"
    taken = set(model.objects.filter(code__startswith=base).values_list("code", flat=True))
    code, n = base, 2
    while code in taken:
        code, n = f"{base}-{n}", n + 1
    return code


def _refuse_unknown(data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed(
            problems=[
                Problem("unknown_field", name, _("This field cannot be set.")) for name in unknown
            ]
        )


def _locked(rows: models.QuerySet[M], pk: Any, missing: str) -> M:
    try:
        return rows.select_for_update(of=("self",)).get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound(missing) from None


def _diff(obj: M, before: dict[str, Any], after: dict[str, Any]) -> SettingEdit[M]:
    edit = SettingEdit(obj=obj)
    edit.old = {k: before[k] for k in after if before.get(k) != after[k]}
    edit.new = {k: after[k] for k in edit.old}
    return edit


def _audit(
    kind: str,
    obj: models.Model,
    label: str,
    *,
    by: User,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
) -> SettingChange:
    return SettingChange.objects.create(
        kind=kind,
        object_id=obj.pk,
        object_label=label[:150],
        actor=by,
        at=timezone.now(),
        old=old or {},
        new=new or {},
    )
