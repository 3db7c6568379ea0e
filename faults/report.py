"""The table the suite prints: one row per fault, then what each fault noted."""

from __future__ import annotations

from collections.abc import Sequence

from faults.context import FaultResult

SHOWN = 15  # findings listed per fault; the counts are in the table

HEADERS = (
    "fault",
    "requests",
    "5xx (outside window)",
    "5xx (in window, JSON?)",
    "lost",
    "duplicated",
    "result",
)


def in_window_cell(result: FaultResult) -> str:
    inside = result.errors_inside
    if not result.windows:
        return "- (no window)"
    if not inside:
        return "0"
    statuses = sorted({c.status for c in inside})
    not_json = [c for c in inside if not c.is_json]
    kind = "all JSON" if not not_json else f"{len(not_json)} not JSON"
    return f"{len(inside)} ({kind}: {', '.join(str(s or 'no answer') for s in statuses)})"


def row(result: FaultResult) -> list[str]:
    verdict = "ok" if result.ok else "FAIL"
    if result.broken:
        verdict += f" ({result.broken} half-written)"
    elif result.failures and not result.ok:
        verdict += f" ({len(result.failures)} unmet)"
    return [
        result.name,
        str(len(result.calls)),
        str(len(result.errors_outside)),
        in_window_cell(result),
        str(result.lost),
        str(result.duplicated),
        verdict,
    ]


def table(results: Sequence[FaultResult]) -> str:
    rows = [list(HEADERS), *(row(r) for r in results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(rows[0]), rule, *(line(r) for r in rows[1:])])


def details(results: Sequence[FaultResult], *, shown: int = SHOWN) -> str:
    lines = []
    for result in results:
        lines.append(f"- {result.name} ({result.seconds:.0f} s)")
        lines += [f"    {note}" for note in result.notes]
        lines += [f"    UNMET: {failure}" for failure in result.failures]
        lines += [f"    {f.kind.upper()}: {f.detail}" for f in result.findings[:shown]]
        if len(result.findings) > shown:
            lines.append(f"    ... and {len(result.findings) - shown} more findings")
        for call in result.errors_outside[:10]:
            lines.append(
                f"    5xx outside the window: {call.method} {call.path} -> "
                f"{call.status or 'no answer'} {call.error or str(call.body)[:160]}"
            )
    return "\n".join(lines)
