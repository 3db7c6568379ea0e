"""One sweep batch as one statement, on PostgreSQL.

A single statement of data-modifying CTEs does a batch's whole job in the database:

1. `due` takes up to `limit` running timers whose `next_check_at` has come, in the order
   of the partial index `sla_timer_due_check_idx`, and locks them ``FOR NO KEY UPDATE
   SKIP LOCKED``: concurrent sweepers take disjoint batches, and a clock stopped before
   the lock (the lead met its SLA between two sweeps) is re-checked out of the batch;
2. `plan` decides, per timer, the breach or the warning and how far up its policy's
   escalation chain it has come, in one pass over the chain (the chains arrive as one
   JSON parameter, parsed by `sla.timers.escalation_delays`, the one reader of a chain);
   `people` looks up, only for timers with something to record, the lead's name and
   who the owner and the manager are;
3. `recorded` INSERTs those events ``ON CONFLICT (timer, kind, level) DO NOTHING
   RETURNING``: the unique constraint `sla_event_once` is the arbiter, so a redelivered
   task or a second sweeper can never record an event twice;
4. `advanced` moves the timers on (`warned_at`, `breached_at`, `escalation_level`, and
   the next `next_check_at`, always after `now` or empty);
5. the result is the batch's counts, and one row per recorded event and person to tell
   (owner, manager, or each active RevOps user), only for rows the INSERT returned, with
   what the message says (the policy by id: its name is read once per sweep).

Message wording stays in Python (`sla.sweep_fanout`): it needs gettext and the zone
database's abbreviations, which SQL has no per-row access to.

The rules are those of `sla.sweep_portable` (the same decisions, row by row, for SQLite);
the sweep tests run on both databases.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from crm.models import Team, User
from leads.models import Lead
from sla.models import SlaEvent, SlaPolicy, SlaTimer
from sla.sweep_fanout import Announcement, BatchOutcome
from sla.timers import escalation_delays

Kind = SlaEvent.Kind


def chains_json(policies: Iterable[tuple[int, Any]]) -> str:
    """Every policy's escalation chain as the statement's `chain` rows: (policy, level
    1..n, audience, minutes after the due time)."""
    return json.dumps(
        [
            {"p": pk, "l": level, "a": audience, "m": minutes}
            for pk, chain in policies
            for level, (audience, minutes) in enumerate(escalation_delays(chain), start=1)
        ]
    )


@dataclass(frozen=True)
class Chains:
    """Every policy's escalation chain (`chains_json`) and name, read once per sweep."""

    json: str
    names: dict[int, str]


def policy_chains() -> Chains:
    """The policies' chains and names: a handful of rows, one query per sweep."""
    rows = list(SlaPolicy.objects.values_list("pk", "escalation_chain", "name"))
    return Chains(
        chains_json((pk, chain) for pk, chain, _name in rows),
        {pk: name for pk, _chain, name in rows},
    )


def _sql() -> str:
    timer, event = SlaTimer._meta.db_table, SlaEvent._meta.db_table
    lead, user, team = (m._meta.db_table for m in (Lead, User, Team))
    return f"""
    WITH due AS MATERIALIZED (
        SELECT t.id, t.policy_id, t.lead_id, t.responsible_id, t.warn_at, t.due_at,
               t.warned_at, t.breached_at, t.escalation_level
        FROM {timer} AS t
        WHERE t.stopped_at IS NULL AND t.next_check_at <= %(now)s
        ORDER BY t.next_check_at, t.id
        LIMIT %(limit)s
        -- NO KEY: the sweep never changes a key, so a clock's events can still be
        -- inserted (their foreign key takes KEY SHARE) while it holds the row.
        FOR NO KEY UPDATE OF t SKIP LOCKED
    ), chain AS MATERIALIZED (
        SELECT c.p AS policy_id, c.l AS level, c.a AS audience, c.m AS minutes
        FROM json_to_recordset(%(chain)s::json) AS c(p bigint, l integer, a text, m integer)
    ), plan AS MATERIALIZED (
        SELECT d.*, s.breach, s.warn, l.new_level,
               CASE
                   WHEN NOT s.breached AND (d.warned_at IS NOT NULL OR s.warn) THEN d.due_at
                   WHEN NOT s.breached THEN d.warn_at
                   -- The next level's delay; past the end of the chain, NULL: no more checks.
                   ELSE d.due_at + ch.minutes[l.new_level + 1] * interval '1 minute'
               END AS next_check
        FROM due AS d
        CROSS JOIN LATERAL (
            SELECT d.breached_at IS NULL AND d.due_at <= %(now)s AS breach,
                   -- Already due: a warning now would be noise, the breach says it all.
                   d.breached_at IS NULL AND d.due_at > %(now)s AND d.warned_at IS NULL
                       AND d.warn_at <= %(now)s AS warn,
                   d.breached_at IS NOT NULL OR d.due_at <= %(now)s AS breached
        ) AS s
        -- The policy's chain in one pass: its length, each level's delay, and the first
        -- level still to come (the chain is climbed in order).
        CROSS JOIN LATERAL (
            SELECT count(*) AS levels,
                   array_agg(c.minutes ORDER BY c.level) AS minutes,
                   min(c.level) FILTER (
                       WHERE c.level > d.escalation_level
                         AND d.due_at + c.minutes * interval '1 minute' > %(now)s
                   ) AS first_ahead
            FROM chain AS c WHERE c.policy_id = d.policy_id
        ) AS ch
        CROSS JOIN LATERAL (
            SELECT CASE WHEN s.breached
                        THEN greatest(d.escalation_level, coalesce(ch.first_ahead - 1, ch.levels))
                        ELSE d.escalation_level END AS new_level
        ) AS l
    ), people AS MATERIALIZED (
        -- For the timers with something to record: the lead's name, and who each audience
        -- names: the owner, and the owner's manager, else their team's manager, else the
        -- manager of the lead's team (never the owner), if active. The lead is looked up
        -- per timer (OFFSET 0): a join may be planned as a scan of every lead, since the
        -- planner cannot know the batch is small.
        SELECT p.id, x.company,
               CASE WHEN owner.is_active THEN p.responsible_id END AS owner_id,
               (SELECT boss.id FROM {user} AS boss
                WHERE boss.is_active AND boss.id = coalesce(
                    CASE WHEN owner.manager_id IS DISTINCT FROM p.responsible_id
                         THEN owner.manager_id END,
                    CASE WHEN owner_team.manager_id IS DISTINCT FROM p.responsible_id
                         THEN owner_team.manager_id END,
                    CASE WHEN x.team_manager_id IS DISTINCT FROM p.responsible_id
                         THEN x.team_manager_id END)) AS manager_id
        FROM plan AS p
        CROSS JOIN LATERAL (
            SELECT l.company_name AS company, tm.manager_id AS team_manager_id
            FROM {lead} AS l LEFT JOIN {team} AS tm ON tm.id = l.team_id
            WHERE l.id = p.lead_id
            OFFSET 0
        ) AS x
        LEFT JOIN {user} AS owner ON owner.id = p.responsible_id
        LEFT JOIN {team} AS owner_team ON owner_team.id = owner.team_id
        WHERE p.breach OR p.warn OR p.new_level > p.escalation_level
    ), planned AS MATERIALIZED (
        -- Each event to record, with who it names and what its message will say.
        SELECT e.timer_id, e.kind, e.level, e.audience, p.responsible_id, p.lead_id,
               p.policy_id, p.due_at, w.company,
               CASE e.audience WHEN 'owner' THEN w.owner_id
                               WHEN 'manager' THEN w.manager_id END AS notified
        FROM (
            SELECT p.id AS timer_id, %(breach)s::text AS kind, 0 AS level, 'owner' AS audience
            FROM plan AS p WHERE p.breach
            UNION ALL
            SELECT p.id, %(warning)s::text, 0, 'owner' FROM plan AS p WHERE p.warn
            UNION ALL
            SELECT p.id, %(escalation)s::text, c.level, c.audience
            FROM plan AS p
            JOIN chain AS c ON c.policy_id = p.policy_id
                           AND c.level > p.escalation_level AND c.level <= p.new_level
        ) AS e
        JOIN plan AS p ON p.id = e.timer_id
        JOIN people AS w ON w.id = e.timer_id
    ), recorded AS (
        INSERT INTO {event} (timer_id, kind, level, notified_id, responsible_id, created_at)
        SELECT e.timer_id, e.kind, e.level, e.notified, e.responsible_id, %(now)s
        FROM planned AS e
        ORDER BY e.timer_id, e.level, e.kind
        ON CONFLICT (timer_id, kind, level) DO NOTHING
        RETURNING timer_id, kind, level
    ), advanced AS (
        UPDATE {timer} AS t
        SET escalation_level = p.new_level,
            warned_at = CASE WHEN p.warn THEN %(now)s ELSE t.warned_at END,
            breached_at = CASE WHEN p.breach THEN %(now)s ELSE t.breached_at END,
            next_check_at = p.next_check
        FROM plan AS p
        WHERE t.id = p.id
        RETURNING t.id
    ), counts AS (
        SELECT (SELECT count(*) FROM advanced) AS examined,
               count(*) FILTER (WHERE r.kind = %(warning)s) AS warnings,
               count(*) FILTER (WHERE r.kind = %(breach)s) AS breaches,
               count(*) FILTER (WHERE r.kind = %(escalation)s) AS escalations
        FROM recorded AS r
    ), told AS (
        -- One row per recorded event and person to tell, with what the message says.
        SELECT e.timer_id, e.kind, e.level, e.lead_id, e.company, e.policy_id,
               extract(epoch FROM e.due_at)::float8 AS due_at, e.responsible_id,
               who.recipient_id
        FROM recorded AS r
        JOIN planned AS e USING (timer_id, kind, level)
        CROSS JOIN LATERAL (
            SELECT e.notified AS recipient_id WHERE e.notified IS NOT NULL
            UNION ALL
            SELECT u.id FROM {user} AS u
            WHERE e.audience = 'revops' AND u.role = %(revops)s AND u.is_active
        ) AS who
    )
    SELECT n.examined, n.warnings, n.breaches, n.escalations,
           x.kind, x.level, x.lead_id, x.company, x.policy_id, x.due_at, x.responsible_id,
           x.recipient_id
    FROM counts AS n
    LEFT JOIN told AS x ON true
    ORDER BY x.timer_id, x.level, x.kind, x.recipient_id
    """  # noqa: S608 - table names from the models, values bound


_SQL: list[str] = []


def sweep_batch_sql(*, now: datetime.datetime, limit: int, chains: Chains) -> BatchOutcome:
    """Sweep up to `limit` due timers in one statement: how many were examined, the
    events really inserted, and who to tell of those. `chains` is `policy_chains()`."""
    if not _SQL:
        _SQL.append(_sql())
    params: dict[str, Any] = {
        "now": now,
        "limit": limit,
        "chain": chains.json,
        "breach": str(Kind.BREACH),
        "warning": str(Kind.WARNING),
        "escalation": str(Kind.ESCALATION),
        "revops": str(User.Role.REVOPS),
    }
    with connection.cursor() as cursor:
        # The planner cannot see that a batch is a few thousand rows (it guesses from the
        # JSON and the CTEs), and would spend seconds JIT-compiling the statement.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_SQL[0], params)
        rows = cursor.fetchall()
    examined, warnings, breaches, escalations = (int(v) for v in rows[0][:4])
    names = chains.names
    # Due times come as epoch seconds, made datetimes once per distinct value: a batch's
    # timers share few, and the driver would parse a timestamp text per row.
    moments: dict[float, datetime.datetime] = {}
    told: list[Announcement] = []
    for *_counts, kind, level, lead_id, company, policy_id, epoch, responsible, to in rows:
        if to is None:  # the counts' row when nothing was recorded
            continue
        due_at = moments.get(epoch)
        if due_at is None:
            due_at = moments[epoch] = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
        told.append(
            Announcement(kind, level, lead_id, company, names[policy_id], due_at, responsible, to)
        )
    return BatchOutcome(examined, warnings, breaches, escalations, told)
