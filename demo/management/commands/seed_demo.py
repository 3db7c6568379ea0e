"""`manage.py seed_demo`: fill an empty database with a year of demo data, once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from demo.errors import DemoDataError
from demo.seed import DEFAULT_LEADS, DEFAULT_SEED, conversion_rates, seed_demo
from demo.staff import DEMO_STAFF


class Command(BaseCommand):
    help = (
        "Seed demo logins, routing rules, MQL targets and 12 months of leads, opportunities, "
        "activity and SLA clocks. Does nothing "
        "when demo data exists (so `make run` can call it on every start); refuses when the "
        "database holds real data unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--leads",
            type=int,
            default=DEFAULT_LEADS,
            help=f"How many leads to create (default {DEFAULT_LEADS:,}; "
            "a million takes a few minutes on PostgreSQL).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"Random seed (default {DEFAULT_SEED}); the same --seed, --now and "
            "--leads give the same data.",
        )
        parser.add_argument(
            "--now",
            help="When the history ends, ISO 8601 (default: now). A time without an offset is UTC.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even though the database holds real (non-demo) data.",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the existing demo data first, then seed again.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        leads: int = options["leads"]
        if leads < 1:
            raise CommandError("--leads must be at least 1.")
        now = _parse_now(options["now"])
        try:
            report = seed_demo(
                leads=leads,
                seed=options["seed"],
                now=now,
                force=options["force"],
                reset=options["reset"],
                progress=self.stdout.write if options["verbosity"] > 0 else None,
            )
        except DemoDataError as error:
            raise CommandError(str(error)) from error
        if not report.seeded:
            self.stdout.write("Demo data already present; nothing to do (--reset rebuilds it).")
            self._write_logins()
            return
        self.stdout.write(
            self.style.SUCCESS(f"Seeded {leads:,} demo leads in {report.seconds:,.1f} s.")
        )
        for label, count in report.counts.items():
            self.stdout.write(f"  {label:<36} {count:>10,}")
        rates = conversion_rates(report.now)
        self.stdout.write(
            "Lead -> opportunity conversion, last 12 months: "
            + ", ".join(f"{source} {rate:.1f} %" for source, rate in sorted(rates.items()))
        )
        self._write_logins()

    def _write_logins(self) -> None:
        self.stdout.write(f"Demo logins (password: {settings.THRESHOLD_DEMO_PASSWORD}):")
        for member in DEMO_STAFF:
            self.stdout.write(
                f"  {member.username:<9} {member.role:<8} {member.first_name} "
                f"{member.last_name}{f' ({member.team})' if member.team else ''}"
            )


def _parse_now(value: object) -> datetime | None:
    """`--now` from the command line is text; from call_command it may be a datetime."""
    moment: datetime | None
    if value is None or isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError as error:
            raise CommandError(f"--now: not an ISO 8601 date-time: {value}") from error
    if moment is not None and timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment
