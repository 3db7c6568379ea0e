"""Who works the demo: the logins for every role, their teams, and which team's SDRs
work which source. A handful of rows, written through the ORM."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password

from crm.models import Team, User
from demo.errors import DemoDataError
from demo.funnel import HISTORY
from demo.people import email_local_part
from leads.models import Source


@dataclass(frozen=True)
class StaffMember:
    username: str
    first_name: str
    last_name: str
    role: str
    time_zone: str
    team: str = ""


DEMO_TEAMS: dict[str, tuple[str, str]] = {
    # name: (manager's username, territory)
    "Inbound Squad": ("manager", "Inbound and referrals, all regions"),
    "Outbound Squad": ("manager", "Outbound, APAC"),
    "Partners & Events": ("manager2", "Partners and events, EMEA and Americas"),
}

DEMO_STAFF: tuple[StaffMember, ...] = (
    StaffMember("admin", "Rina", "Hartono", User.Role.ADMIN, "Asia/Jakarta"),
    StaffMember("revops", "Priya", "Raman", User.Role.REVOPS, "Asia/Singapore"),
    StaffMember("manager", "Budi", "Santoso", User.Role.MANAGER, "Asia/Jakarta"),
    StaffMember("manager2", "Claire", "Dubois", User.Role.MANAGER, "Europe/London"),
    StaffMember("sdr", "Putri", "Lestari", User.Role.SDR, "Asia/Jakarta", "Inbound Squad"),
    StaffMember("sdr2", "Tom", "Fletcher", User.Role.SDR, "Europe/London", "Inbound Squad"),
    StaffMember("sdr3", "Ayu", "Pratiwi", User.Role.SDR, "Asia/Makassar", "Inbound Squad"),
    StaffMember("sdr4", "Rizky", "Firmansyah", User.Role.SDR, "Asia/Jakarta", "Outbound Squad"),
    StaffMember("sdr5", "Megan", "Lee", User.Role.SDR, "America/New_York", "Outbound Squad"),
    StaffMember("sdr6", "Hannah", "Becker", User.Role.SDR, "Europe/Berlin", "Partners & Events"),
    StaffMember("ae", "Andi", "Wijaya", User.Role.AE, "Asia/Jakarta", "Inbound Squad"),
    StaffMember("ae2", "Sarah", "Mitchell", User.Role.AE, "America/New_York", "Inbound Squad"),
    StaffMember("ae3", "Kevin", "Tan", User.Role.AE, "Asia/Singapore", "Outbound Squad"),
    StaffMember("ae4", "Lukas", "Vermeer", User.Role.AE, "Europe/Amsterdam", "Partners & Events"),
)

# Lead routing: which team's SDRs work a source.
TEAM_BY_SOURCE: dict[str, str] = {
    Source.INBOUND: "Inbound Squad",
    Source.REFERRAL: "Inbound Squad",
    Source.OTHER: "Inbound Squad",
    Source.OUTBOUND: "Outbound Squad",
    Source.EVENT: "Partners & Events",
    Source.PARTNER: "Partners & Events",
}


def create_demo_staff(now: datetime) -> tuple[dict[str, User], dict[str, Team]]:
    """The demo logins and their teams. One password hash serves every login: hashing is
    slow on purpose (a third of a second each) and this password is public anyway."""
    usernames = [member.username for member in DEMO_STAFF]
    taken = sorted(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    if taken:
        raise DemoDataError(
            f"Real users already have the demo usernames {', '.join(taken)}; rename them first."
        )
    password = make_password(settings.THRESHOLD_DEMO_PASSWORD)
    users: dict[str, User] = {}
    teams: dict[str, Team] = {}
    for member in DEMO_STAFF:  # managers come before the people they manage
        team = None
        if member.team:
            if member.team not in teams:
                manager, territory = DEMO_TEAMS[member.team]
                teams[member.team], _ = Team.objects.update_or_create(
                    name=member.team,
                    defaults={"manager": users[manager], "territory": territory},
                )
            team = teams[member.team]
        users[member.username] = User.objects.create(
            username=member.username,
            password=password,
            first_name=member.first_name,
            last_name=member.last_name,
            email=f"{email_local_part(member.first_name, member.last_name)}@threshold.example",
            role=member.role,
            is_staff=member.role in (User.Role.ADMIN, User.Role.REVOPS),
            is_superuser=member.role == User.Role.ADMIN,
            team=team,
            manager=team.manager if team else None,
            time_zone=member.time_zone,
            date_joined=now - HISTORY - timedelta(days=90),
            is_demo=True,
        )
    return users, teams
