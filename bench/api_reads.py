"""API reads benchmark: the lead and opportunity lists and details against their floor.

    .venv/bin/python -m bench.api_reads          (BENCH_DATABASE_URL, see bench/__init__)
    BENCH_LEADS=100000 .venv/bin/python -m bench.api_reads

Targets (issue 14), each a ratio to its floor measured in the same run:

* lead list, 50 rows: at most 3.5x; lead list, 10 rows: at most 3x; lead detail: at most
  6x; the opportunity list and detail are held to the same ratios as the leads'.

What is timed: a GET through the real view (`LeadViewSet.as_view(...)` with a
RequestFactory request, DEBUG off) as RevOps, authenticated by a real API token (DRF's
token lookup, the user throttle in Redis), filtered, ordered, keyset-paged, rendered to
bytes. Not timed: Django's middleware and URL resolution (the same for every endpoint; an
informational row shows the whole stack through the test Client).

The floor: the same rows (page size + 1, as the keyset page reads them) fetched by a
hand-written SELECT on a bare psycopg 3 connection as dicts and serialized with orjson.
The median of RUNS alternating runs after a warm-up, so a change in the machine's load
hits both alike.

The user throttle's history lives in Redis (`REDIS_URL`, default a private database of
the local server) as it does in production; without Redis the cache is a file per key.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from bench import Row, alternating_medians, database_url, production_mode, say, setup_django

LEADS = int(os.environ.get("BENCH_LEADS", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "101"))
WARMUP = 10
# The benchmark's own Redis database (the throttle's history), unless REDIS_URL says.
REDIS_URL = "redis://127.0.0.1:6379/13"

LEAD_COLUMNS = """
    l.id, l.company_name, l.company_domain, l.industry, l.employee_count, l.segment,
    l.territory, l.country, l.first_name, l.last_name, l.email, l.phone, l.job_title,
    l.source, l.campaign, l.score, l.lost_to_competitor, l.status,
    o.id AS owner_id, o.username AS owner_username, o.first_name AS owner_first_name,
    o.last_name AS owner_last_name, o.role AS owner_role,
    a.id AS ae_id, a.username AS ae_username, a.first_name AS ae_first_name,
    a.last_name AS ae_last_name, a.role AS ae_role,
    l.team_id, l.version, l.created_at, l.updated_at, l.mql_at, l.assigned_at,
    l.first_contacted_at, l.accepted_at, l.qualified_at, l.handed_off_at, l.converted_at,
    l.rejected_at, l.nurtured_at, l.disqualified_at, rr.code AS rejection_reason,
    l.rejection_note, dr.code AS disqualification_reason, l.disqualification_note,
    l.account_id, l.contact_id, l.previous_lead_id, l.merged_into_id
"""
LEAD_FROM = """
    FROM leads_lead l
    LEFT JOIN crm_user o ON o.id = l.owner_id
    LEFT JOIN crm_user a ON a.id = l.ae_id
    LEFT JOIN leads_rejectionreason rr ON rr.id = l.rejection_reason_id
    LEFT JOIN leads_disqualificationreason dr ON dr.id = l.disqualification_reason_id
"""
LEAD_PAGE_SQL = f"SELECT {LEAD_COLUMNS} {LEAD_FROM} ORDER BY l.created_at DESC, l.id DESC LIMIT %s"
LEAD_ONE_SQL = f"SELECT {LEAD_COLUMNS} {LEAD_FROM} WHERE l.id = %s"

DEAL_COLUMNS = """
    d.id, d.name, d.lead_id, d.account_id, d.primary_contact_id, d.owner_id, d.amount,
    d.currency, d.discount_notes, d.expected_close_date, d.close_date_reason, d.stage_id,
    s.name AS stage_name, d.probability, d.next_step, d.next_step_owner_id, d.next_step_due,
    d.source, d.campaign, d.lead_score_at_conversion, d.qualification_framework,
    d.qualification_summary, d.product_line, d.use_case, d.industry_vertical,
    d.decision_criteria, d.competitive_landscape, d.risks, d.lost_reason,
    d.lost_to_competitor, d.closed_at, d.approval, d.is_override, d.stage_entered_at,
    d.version, d.created_at, d.updated_at
"""
DEAL_FROM = "FROM opportunities_opportunity d JOIN opportunities_stage s ON s.id = d.stage_id"
DEAL_PAGE_SQL = f"SELECT {DEAL_COLUMNS} {DEAL_FROM} ORDER BY d.created_at DESC, d.id DESC LIMIT %s"
DEAL_ONE_SQL = f"SELECT {DEAL_COLUMNS} {DEAL_FROM} WHERE d.id = %s"
ROLES_SQL = """
    SELECT r.opportunity_id, r.contact_id AS contact, c.first_name, c.last_name, c.email, r.role
    FROM opportunities_opportunitycontactrole r JOIN crm_contact c ON c.id = r.contact_id
    WHERE r.opportunity_id = ANY(%s) ORDER BY r.id
"""

# (figure, target ratio); the lists' targets are for 50 and 10 rows.
TARGETS = {"list50": 3.5, "list10": 3.0, "detail": 6.0}


def main(leads: int = LEADS) -> list[Row]:
    production_mode()
    os.environ.setdefault("REDIS_URL", REDIS_URL)
    setup_django()
    import psycopg
    from django.conf import settings
    from django.db import connection
    from django.test import Client, RequestFactory
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token

    from bench.reports import _ensure_demo
    from crm.models import User
    from leads.api.views import LeadViewSet
    from leads.models import Lead
    from opportunities.api.views import OpportunityViewSet
    from opportunities.models import Opportunity

    assert not settings.DEBUG, "measure with DEBUG off"
    _ensure_demo(leads)
    revops = User.objects.get(username="revops")
    token = Token.objects.get_or_create(user=revops)[0].key
    header = f"Token {token}"
    factory = RequestFactory(HTTP_HOST="localhost")
    lead_id = Lead.objects.order_by("-created_at", "-id").values_list("id", flat=True)[7]
    deal_id = Opportunity.objects.order_by("-created_at", "-id").values_list("id", flat=True)[7]
    views = {
        "lead list": LeadViewSet.as_view({"get": "list"}),
        "lead detail": LeadViewSet.as_view({"get": "retrieve"}),
        "opportunity list": OpportunityViewSet.as_view({"get": "list"}),
        "opportunity detail": OpportunityViewSet.as_view({"get": "retrieve"}),
    }

    def get(view: str, url: str, **kwargs: Any) -> Callable[[], bytes]:
        def call() -> bytes:
            response = views[view](factory.get(url, HTTP_AUTHORIZATION=header), **kwargs)
            response.render()
            assert response.status_code == 200, response.content[:300]
            return bytes(response.content)

        return call

    floor_db = psycopg.connect(database_url(), autocommit=True)
    floors = _Floors(floor_db)
    cases = [
        ("lead list, 50 rows", "list50", get("lead list", "/api/v1/leads/?page_size=50"),
         lambda: floors.lead_page(50)),
        ("lead list, 10 rows", "list10", get("lead list", "/api/v1/leads/?page_size=10"),
         lambda: floors.lead_page(10)),
        ("lead detail", "detail", get("lead detail", f"/api/v1/leads/{lead_id}/", pk=str(lead_id)),
         lambda: floors.lead_one(lead_id)),
        ("opportunity list, 50 rows", "list50",
         get("opportunity list", "/api/v1/opportunities/?page_size=50"),
         lambda: floors.deal_page(50)),
        ("opportunity list, 10 rows", "list10",
         get("opportunity list", "/api/v1/opportunities/?page_size=10"),
         lambda: floors.deal_page(10)),
        ("opportunity detail", "detail",
         get("opportunity detail", f"/api/v1/opportunities/{deal_id}/", pk=str(deal_id)),
         lambda: floors.deal_one(deal_id)),
    ]  # fmt: skip
    rows: list[Row] = []
    say(f"API reads: median of {RUNS} runs, in-process through the view, as RevOps "
        f"({Lead.objects.count():,} leads)")  # fmt: skip
    say(f"  {'figure':<28} {'view':>9} {'floor':>9} {'ratio':>7} {'target':>7} queries")
    for figure, kind, call, floor in cases:
        with CaptureQueriesContext(connection) as captured:
            call()
        app_ms, floor_ms = _medians(call, floor)
        ratio = app_ms / floor_ms
        target = TARGETS[kind]
        rows.append(Row(f"API {figure}", app_ms, "ms", floor_ms, ratio, f"<= {target}x",
                        ratio <= target))  # fmt: skip
        say(f"  {figure:<28} {app_ms:7.2f}ms {floor_ms:7.2f}ms {ratio:6.2f}x {target:6.1f}x "
            f"{len(captured.captured_queries)}")  # fmt: skip

    # Informational: the whole stack (middleware, URL resolution, the request signals).
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=header)
    stack_ms, floor_ms = _medians(
        lambda: client.get("/api/v1/leads/?page_size=50"), lambda: floors.lead_page(50)
    )
    rows.append(Row("API lead list, 50 rows, whole stack (test Client)", stack_ms, "ms",
                    floor_ms, stack_ms / floor_ms))  # fmt: skip
    say(f"  {'lead list 50, whole stack':<28} {stack_ms:7.2f}ms {floor_ms:7.2f}ms "
        f"{stack_ms / floor_ms:6.2f}x")  # fmt: skip
    floor_db.close()
    return rows


class _Floors:
    """The same rows on a bare psycopg 3 connection, as dicts, written by orjson."""

    def __init__(self, conn: Any) -> None:
        from psycopg.rows import dict_row

        self.conn = conn
        self.row_factory = dict_row

    def _json(self, sql: str, params: list[Any]) -> tuple[bytes, list[dict[str, Any]]]:
        import orjson

        with self.conn.cursor(row_factory=self.row_factory) as cursor:
            rows = cursor.execute(sql, params).fetchall()
        return orjson.dumps(rows, default=str), rows

    def lead_page(self, size: int) -> bytes:
        return self._json(LEAD_PAGE_SQL, [size + 1])[0]

    def lead_one(self, lead_id: int) -> bytes:
        return self._json(LEAD_ONE_SQL, [lead_id])[0]

    def _deals(self, sql: str, params: list[Any]) -> bytes:
        import orjson

        with self.conn.cursor(row_factory=self.row_factory) as cursor:
            deals = cursor.execute(sql, params).fetchall()
            roles = cursor.execute(ROLES_SQL, [[deal["id"] for deal in deals]]).fetchall()
        by_deal: dict[int, list[dict[str, Any]]] = {}
        for role in roles:
            by_deal.setdefault(role.pop("opportunity_id"), []).append(role)
        for deal in deals:
            deal["contact_roles"] = by_deal.get(deal["id"], [])
        return orjson.dumps(deals, default=str)

    def deal_page(self, size: int) -> bytes:
        return self._deals(DEAL_PAGE_SQL, [size + 1])

    def deal_one(self, deal_id: int) -> bytes:
        return self._deals(DEAL_ONE_SQL, [deal_id])


def _medians(*calls: Callable[[], Any]) -> list[float]:
    return alternating_medians(*calls, runs=RUNS, warmup=WARMUP)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else LEADS)
