"""`manage.py refresh_report_rollups [--full]`: what the beat task does, on demand."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from reports.rollups.refresh import refresh


class Command(BaseCommand):
    help = "Bring the reports' daily rollups up to date (--full rebuilds them all)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="Rebuild every rollup.")

    def handle(self, *args: object, **options: object) -> None:
        report = refresh(full=bool(options["full"]))
        kind = "rebuilt" if report.full else "refreshed"
        self.stdout.write(f"Rollups {kind} in {report.seconds:.2f} s: {report.rows}")
