"""One sweep batch as one statement, on PostgreSQL.

A single statement of data-modifying CTEs does a batch's whole job in the database:

1. `due` takes up to `limit` running timers whose `next_check_at` has come, in the order
   of the partial index `sla_timer_due_check_idx`, and locks them ``FOR UPDATE SKIP
   LOCKED``: concurrent sweepers take disjoint batches, and a clock stopped before the
   lock (the lead met its SLA between two sweeps) is re-checked out of the batch;
2. `plan` decides, per timer, the breach or the warning and how far up its policy's
   escalation chain it has come (the chains arrive as one JSON parameter, parsed by
   `sla.timers.escalation_delays`, the one reader of a chain);
3. `recorded` INSERTs those events ``ON CONFLICT (timer, kind, level) DO NOTHING
   RETURNING``: the unique constraint `sla_event_once` is the arbiter, so a redelivered
   task or a second sweeper can never record an event twice;
4. `advanced` moves the timers on (`warned_at`, `breached_at`, `escalation_level`, and
   the next `next_check_at`, always after `now` or empty);
5. the result is one row per recorded event and person to tell (owner, manager, or each
   active RevOps user), only for rows the INSERT returned.

The rules are those of `sla.sweep_portable` (the same decisions, row by row, for SQLite);
the sweep tests run on both databases.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from typing import Any

from django.db import connection

from crm.models import Team, User
from leads.models import Lead
from sla.models import SlaEvent, SlaPolicy, SlaTimer
from sla.sweep_fanout import Announcement
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


def policy_chains() -> str:
    """`chains_json` of every policy: a handful of rows, read once per sweep."""
    return chains_json(SlaPolicy.objects.values_list("pk", "escalation_chain"))


def _sql() -> str:
    timer, event, policy = (m._meta.db_table for m in (SlaTimer, SlaEvent, SlaPolicy))
    lead, user, team = (m._meta.db_table for m in (Lead, User, Team))
    return f"""
    WITH due AS MATERIALIZED (
        SELECT t.id, t.policy_id, t.lead_id, t.responsible_id, t.warn_at, t.due_at,
               t.warned_at, t.breached_at, t.escalation_level
        FROM {timer} AS t
        WHERE t.stopped_at IS NULL AND t.next_check_at <= %(now)s
        ORDER BY t.next_check_at, t.id
        LIMIT %(limit)s
        FOR UPDATE OF t SKIP LOCKED
    ), lead AS MATERIALIZED (
        -- The lead's name and team, looked up per due timer: a join here may be planned
        -- as a scan of every lead, since the planner cannot know the batch is small.
        -- (OFFSET 0 keeps it a lookup by primary key per timer.)
        SELECT d.id, x.company, x.team_manager_id
        FROM due AS d
        CROSS JOIN LATERAL (
            SELECT l.company_name AS company, tm.manager_id AS team_manager_id
            FROM {lead} AS l LEFT JOIN {team} AS tm ON tm.id = l.team_id
            WHERE l.id = d.lead_id
            OFFSET 0
        ) AS x
    ), chain AS MATERIALIZED (
        SELECT c.p AS policy_id, c.l AS level, c.a AS audience, c.m AS minutes
        FROM json_to_recordset(%(chain)s::json) AS c(p bigint, l integer, a text, m integer)
    ), state AS (
        SELECT d.*,
               d.breached_at IS NULL AND d.due_at <= %(now)s AS breach,
               -- Already due: a warning now would be noise, the breach says it all.
               d.breached_at IS NULL AND d.due_at > %(now)s AND d.warned_at IS NULL
                   AND d.warn_at <= %(now)s AS warn,
               d.breached_at IS NOT NULL OR d.due_at <= %(now)s AS breached,
               (SELECT count(*) FROM chain AS c WHERE c.policy_id = d.policy_id) AS levels,
               -- The first level still to come: the chain is climbed in order.
               (SELECT min(c.level) FROM chain AS c
                WHERE c.policy_id = d.policy_id AND c.level > d.escalation_level
                  AND d.due_at + c.minutes * interval '1 minute' > %(now)s) AS first_ahead
        FROM due AS d
    ), plan AS MATERIALIZED (
        SELECT s.*, l.new_level,
               CASE
                   WHEN NOT s.breached AND (s.warned_at IS NOT NULL OR s.warn) THEN s.due_at
                   WHEN NOT s.breached THEN s.warn_at
                   ELSE (SELECT s.due_at + c.minutes * interval '1 minute' FROM chain AS c
                         WHERE c.policy_id = s.policy_id AND c.level = l.new_level + 1)
               END AS next_check
        FROM state AS s
        CROSS JOIN LATERAL (
            SELECT CASE WHEN s.breached
                        THEN greatest(s.escalation_level, coalesce(s.first_ahead - 1, s.levels))
                        ELSE s.escalation_level END AS new_level
        ) AS l
    ), people AS MATERIALIZED (
        -- Who each audience names: the owner, and the owner's manager, else their team's
        -- manager, else the manager of the lead's team (never the owner), if active.
        SELECT p.id,
               CASE WHEN owner.is_active THEN p.responsible_id END AS owner_id,
               CASE WHEN boss.is_active THEN boss.id END AS manager_id
        FROM plan AS p
        JOIN lead ON lead.id = p.id
        LEFT JOIN {user} AS owner ON owner.id = p.responsible_id
        LEFT JOIN {team} AS owner_team ON owner_team.id = owner.team_id
        LEFT JOIN {user} AS boss ON boss.id = coalesce(
            CASE WHEN owner.manager_id IS DISTINCT FROM p.responsible_id
                 THEN owner.manager_id END,
            CASE WHEN owner_team.manager_id IS DISTINCT FROM p.responsible_id
                 THEN owner_team.manager_id END,
            CASE WHEN lead.team_manager_id IS DISTINCT FROM p.responsible_id
                 THEN lead.team_manager_id END)
    ), planned AS MATERIALIZED (
        SELECT e.timer_id, e.kind, e.level, e.audience,
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
        JOIN people AS w ON w.id = e.timer_id
    ), recorded AS (
        INSERT INTO {event} (timer_id, kind, level, notified_id, responsible_id, created_at)
        SELECT e.timer_id, e.kind, e.level, e.notified, p.responsible_id, %(now)s
        FROM planned AS e JOIN plan AS p ON p.id = e.timer_id
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
    ), told AS (
        SELECT r.timer_id, r.kind, r.level, who.recipient_id
        FROM recorded AS r
        JOIN planned AS e USING (timer_id, kind, level)
        LEFT JOIN LATERAL (
            SELECT e.notified AS recipient_id WHERE e.notified IS NOT NULL
            UNION ALL
            SELECT u.id FROM {user} AS u
            WHERE e.audience = 'revops' AND u.role = %(revops)s AND u.is_active
        ) AS who ON true
    )
    SELECT n.examined, x.timer_id, x.kind, x.level, x.lead_id, x.company, x.policy,
           x.due_at, x.responsible_id, x.recipient_id
    FROM (SELECT count(*) AS examined FROM advanced) AS n
    LEFT JOIN (
        SELECT told.timer_id, told.kind, told.level, p.lead_id, lead.company,
               pol.name AS policy, extract(epoch FROM p.due_at)::float8 AS due_at,
               p.responsible_id, told.recipient_id
        FROM told
        JOIN plan AS p ON p.id = told.timer_id
        JOIN lead ON lead.id = told.timer_id
        JOIN {policy} AS pol ON pol.id = p.policy_id
        ORDER BY told.timer_id, told.level, told.kind, told.recipient_id
    ) AS x ON true
    """  # noqa: S608 - table names from the models, values bound


_SQL: list[str] = []


def sweep_batch_sql(
    *, now: datetime.datetime, limit: int, chains: str
) -> tuple[int, list[str], list[Announcement]]:
    """Sweep up to `limit` due timers in one statement: (how many were examined, the
    kind of each event really inserted, who to tell of those). `chains` is
    `policy_chains()`."""
    if not _SQL:
        _SQL.append(_sql())
    params: dict[str, Any] = {
        "now": now,
        "limit": limit,
        "chain": chains,
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
    examined = int(rows[0][0]) if rows else 0
    kinds: list[str] = []
    seen: set[tuple[int, str, int]] = set()
    announcements: list[Announcement] = []
    # Due times come as epoch seconds, made datetimes once per distinct value: a batch's
    # timers share few, and the driver would parse a timestamp text per row.
    moments: dict[float, datetime.datetime] = {}
    for _n, timer_id, kind, level, lead_id, company, policy, epoch, responsible, to in rows:
        if timer_id is None:
            continue
        if (timer_id, kind, level) not in seen:
            seen.add((timer_id, kind, level))
            kinds.append(kind)
        if to is not None:
            due_at = moments.get(epoch)
            if due_at is None:
                due_at = moments[epoch] = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
            announcements.append(
                Announcement(kind, level, lead_id, company, policy, due_at, responsible, to)
            )
    return examined, kinds, announcements
