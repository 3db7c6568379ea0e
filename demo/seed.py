"""Seeding as a whole: the guards (never mix with real data unless asked), the reset, and
the one transaction that writes it all. `manage.py seed_demo` calls `seed_demo`."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone

from crm.models import Account, Contact, Notification, PreferenceChange, Team, User
from crm.saved_views import SavedView, SavedViewChange
from demo.bulk_load import (
    analyze_tables,
    bulk_load,
    collector_paused,
    first_free_ids,
    lock_tables,
    made_ahead,
    move_sequences_past_demo_rows,
    row_writer,
)
from demo.capture import delete_demo_capture, seed_capture
from demo.dedupe import seed_dedupe
from demo.errors import DemoDataError
from demo.funnel import HISTORY
from demo.generator import DemoGenerator
from demo.imports import delete_demo_imports, seed_imports
from demo.preferences import seed_preferences
from demo.references import ReferenceIds, TakenKeys
from demo.routing import create_routing_rules, demo_rules
from demo.rows import WRITE_ORDER
from demo.saved_views import seed_saved_views
from demo.staff import DEMO_TEAMS, create_demo_staff
from leads.models import (
    Activity,
    Handoff,
    Lead,
    LeadAddress,
    LeadEvent,
    LeadStatus,
    LeadTransition,
    Qualification,
    SettingChange,
)
from opportunities.models import (
    ConversionSnapshot,
    Opportunity,
    OpportunityContactRole,
    StageChange,
)
from reports.models import MqlTarget, RollupState
from sla.models import SlaEvent, SlaTimer

DEFAULT_LEADS = 5_000
DEFAULT_SEED = 42

# Called with a line of progress to show, if the caller wants to see it.
Progress = Callable[[str], None]

FLAGGED_MODELS: tuple[type[models.Model], ...] = (
    User,
    Account,
    Contact,
    Lead,
    Activity,
    Opportunity,
)


def demo_data_exists() -> bool:
    """Whether a seed already ran (and was not reset): demo logins or demo leads exist."""
    return User.objects.filter(is_demo=True).exists() or Lead.objects.filter(is_demo=True).exists()


def tables_with_real_data() -> list[str]:
    """Names of the tables holding rows not made by this module: the data seeding must not
    mix with unless asked to (`--force`)."""
    return [
        str(model._meta.verbose_name_plural)
        for model in FLAGGED_MODELS
        if model._default_manager.filter(is_demo=False).exists()
    ]


def delete_demo_data() -> dict[str, int]:
    """Delete every demo row and what hangs off it, children first, one DELETE per table.

    Raw DELETEs instead of `QuerySet.delete()`: the ORM's cascade collector loads every row
    into memory first, which a million leads does not survive. Rows made later through the
    app on demo leads (an opportunity converted in a demo session, SLA timers) go too."""
    demo_leads = Lead.objects.filter(is_demo=True)
    demo_opps = Opportunity.objects.filter(Q(is_demo=True) | Q(lead__is_demo=True))
    Contact.objects.filter(reports_to__is_demo=True, is_demo=False).update(reports_to=None)
    # Web forms, their posts and intake keys point at demo leads and users: they go first.
    capture_deleted = delete_demo_capture()
    # Lead imports point at demo users (who ran them); they wrote no lead of their own.
    imports_deleted = delete_demo_imports()
    steps: list[QuerySet[Any]] = [
        SlaEvent.objects.filter(timer__lead__is_demo=True),
        SlaTimer.objects.filter(lead__is_demo=True),
        StageChange.objects.filter(opportunity__in=demo_opps),
        OpportunityContactRole.objects.filter(opportunity__in=demo_opps),
        ConversionSnapshot.objects.filter(Q(opportunity__in=demo_opps) | Q(lead__is_demo=True)),
        Activity.objects.filter(
            Q(is_demo=True) | Q(lead__is_demo=True) | Q(opportunity__in=demo_opps)
        ),
        demo_opps,
        LeadTransition.objects.filter(lead__is_demo=True),
        Qualification.objects.filter(lead__is_demo=True),
        Handoff.objects.filter(lead__is_demo=True),
        # Touches, merges and assignments made through the app on demo leads.
        LeadEvent.objects.filter(lead__is_demo=True),
        # Former addresses a merge or an edit of a demo lead kept.
        LeadAddress.objects.filter(lead__is_demo=True),
        demo_leads,
        Contact.objects.filter(is_demo=True),
        Account.objects.filter(is_demo=True),
        Notification.objects.filter(recipient__is_demo=True),
        # Views and personal settings demo logins saved (their audit rows name the user).
        SavedViewChange.objects.filter(Q(actor__is_demo=True) | Q(view__owner__is_demo=True)),
        SavedView.objects.filter(owner__is_demo=True),
        PreferenceChange.objects.filter(user__is_demo=True),
        SettingChange.objects.filter(
            kind=SettingChange.Kind.ROUTING_RULE, object_id__in=demo_rules().values("pk")
        ),
        demo_rules(),
    ]
    if not Lead.objects.filter(is_demo=False).exists():
        # A demo-only database: the targets nobody set in the app are the demo's.
        steps.append(MqlTarget.objects.filter(changes__isnull=True))
    deleted = {str(qs.model._meta.verbose_name_plural): _delete_rows(qs) for qs in steps}
    deleted |= capture_deleted
    deleted["lead imports"] = imports_deleted
    try:
        connection.check_constraints()
        _count, by_model = User.objects.filter(is_demo=True).delete()
    except (ProtectedError, RestrictedError) as error:  # before IntegrityError: subclasses
        blocking = (
            error.protected_objects
            if isinstance(error, ProtectedError)
            else error.restricted_objects
        )
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in blocking})
        raise DemoDataError(
            f"Real {', '.join(kinds)} still point at demo users; reassign them first."
        ) from error
    except IntegrityError as error:
        raise DemoDataError(f"Real rows still point at demo data: {error}") from error
    deleted["users"] = by_model.get(User._meta.label, 0)
    Team.objects.filter(name__in=DEMO_TEAMS, members__isnull=True).delete()
    return deleted


def _delete_rows(queryset: QuerySet[Any]) -> int:
    """DELETE ... WHERE pk IN (the queryset): no rows loaded, no signals, no cascade.
    The caller deletes children before parents."""
    model = queryset.model
    subquery, params = queryset.values("pk").query.sql_with_params()
    qn = connection.ops.quote_name
    sql = (
        f"DELETE FROM {qn(model._meta.db_table)} WHERE {qn(model._meta.pk.column)} IN ({subquery})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@dataclass(frozen=True)
class SeedReport:
    """What a seed did: nothing (`seeded` False: demo data was there), or the rows it
    wrote and, on a reset, deleted first."""

    seeded: bool
    now: datetime
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)


def seed_demo(
    *,
    leads: int = DEFAULT_LEADS,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    force: bool = False,
    reset: bool = False,
    progress: Progress | None = None,
) -> SeedReport:
    """Seed the demo once: a no-op when demo data exists (unless `reset`), a refusal when
    real data exists (unless `force`). All or nothing, in one transaction."""
    started = time.monotonic()
    now = (now or timezone.now()).astimezone(UTC)
    report_progress = progress or (lambda _message: None)
    if demo_data_exists() and not reset:
        return SeedReport(seeded=False, now=now)
    if not force and (tables := tables_with_real_data()):
        raise DemoDataError(
            f"The database holds real data ({', '.join(tables)}); demo data would mix with "
            "it. Use a fresh database, or --force to seed alongside it."
        )
    counts: Counter[str] = Counter()
    with transaction.atomic():
        lock_tables()
        # The old demo goes while the keys are set aside too: deleting a year of rows under
        # deferred foreign keys checks each of them again, most of a reset's time.
        with bulk_load(WRITE_ORDER), collector_paused():
            deleted = delete_demo_data() if reset else {}
            if sum(deleted.values()):
                report_progress(f"Deleted the old demo data ({sum(deleted.values()):,} rows).")
            users, teams = create_demo_staff(now)
            create_routing_rules(by=users["revops"], teams=teams)
            generator = DemoGenerator(
                leads=leads,
                seed=seed,
                now=now,
                references=ReferenceIds.from_db(users, teams, now=now),
                first_ids=first_free_ids(),
                taken=TakenKeys.from_db(),
            )
            writer = row_writer()
            batches = itertools.chain([generator.account_batch()], generator.lead_batches())
            for batch in made_ahead(batches):
                for model, rows in batch.in_write_order():
                    writer.write(model, rows)
                counts.update(batch.row_counts())
                done = counts[Lead._meta.label]
                elapsed = time.monotonic() - started
                report_progress(f"  {done:>9,} / {leads:,} leads  ({elapsed:,.1f} s)")
            report_progress("  Rebuilding indexes and checking foreign keys ...")
        move_sequences_past_demo_rows()
        # Through the services, as the app writes them: returning people and a pair to
        # merge, web forms with their posts and an intake key, personal settings.
        seed_dedupe(now=now)
        capture = seed_capture(now=now, users=users)
        # Past imports for the Import leads page, made of leads the generator wrote.
        seed_imports(now=now, users=users)
        seed_preferences(users=users)
        seed_saved_views(users=users)
        report_progress(f"  Intake key for the webhook (shown once): {capture.key_secret}")
        targets = MqlTarget.objects.bulk_create(generator.mql_targets(), ignore_conflicts=True)
        counts[MqlTarget._meta.label] = len(targets)
        # The report rollups describe the data that was there before (and a reset reuses
        # its ids, which an incremental refresh would miss). Marked stale, the reports read
        # the source rows until the next refresh, which rebuilds them all: the seed does
        # not wait for that rebuild (it takes longer than the seed itself).
        RollupState.objects.update(refreshed_at=None)
    analyze_tables()
    return SeedReport(
        seeded=True,
        now=now,
        seconds=time.monotonic() - started,
        counts=dict(counts),
        deleted=deleted,
    )


def conversion_rates(now: datetime) -> dict[str, float]:
    """Percentage of the demo leads created in the 12 months before `now` that converted,
    by source and overall: the cohort DOMAIN.md's benchmark ranges describe."""
    rows = (
        Lead.objects.filter(is_demo=True, created_at__gt=now - HISTORY, created_at__lte=now)
        .values("source")
        .annotate(total=Count("id"), converted=Count("id", filter=Q(status=LeadStatus.CONVERTED)))
    )
    totals = {row["source"]: (row["converted"], row["total"]) for row in rows}
    converted = sum(c for c, _t in totals.values())
    total = sum(t for _c, t in totals.values())
    rates = {source: 100 * c / t for source, (c, t) in totals.items() if t}
    if total:
        rates["overall"] = 100 * converted / total
    return rates
