"""The sidebar: sections the apps above `crm` register, shown by role."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from crm import navigation
from crm.context_processors import navigation as navigation_context
from crm.models import User
from crm.navigation import Section, register_section, sections_for
from tests.factories import UserFactory


@pytest.fixture
def no_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(navigation, "_sections", {})


@pytest.mark.usefixtures("no_sections")
def test_sections_keep_their_order_and_a_second_registration_replaces_in_place() -> None:
    register_section(Section("Home", "home", "bi-house"))
    register_section(Section("Leads", "leads:list", "bi-inbox"))
    register_section(Section("Start", "home", "bi-house-fill"))
    user = User(role=User.Role.SDR)

    assert [(s.label, s.icon) for s in sections_for(user)] == [
        ("Start", "bi-house-fill"),
        ("Leads", "bi-inbox"),
    ]


@pytest.mark.usefixtures("no_sections")
def test_a_section_is_shown_only_to_whom_it_says() -> None:
    register_section(Section("Approvals", "approvals", "bi-check", lambda u: u.is_manager))

    assert sections_for(User(role=User.Role.SDR)) == []
    assert [s.label for s in sections_for(User(role=User.Role.MANAGER))] == ["Approvals"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "staff", "labels"),
    [
        ("sdr", False, ["My work", "Leads", "Opportunities", "Pipeline", "Dashboard"]),
        ("ae", False, ["My work", "Leads", "Opportunities", "Pipeline", "Dashboard"]),
        (
            "manager",
            False,
            [
                "My work",
                "Leads",
                "Opportunities",
                "Pipeline",
                "Dashboard",
                "Approvals",
                "SLA",
                "Import leads",
                "Settings",
            ],
        ),
        (
            "revops",
            True,
            [
                "My work",
                "Leads",
                "Opportunities",
                "Pipeline",
                "Dashboard",
                "Approvals",
                "SLA",
                "Import leads",
                "Settings",
                "Administration",
            ],
        ),
    ],
)
def test_the_sidebar_by_role(rf: RequestFactory, role: str, staff: bool, labels: list[str]) -> None:
    request = rf.get("/")
    request.user = UserFactory(role=role, is_staff=staff)

    items = navigation_context(request)["nav_items"]

    assert [str(label) for label, _url, _icon in items] == labels
    assert items[0][1] == "/"


def test_anonymous_visitors_get_no_sidebar(rf: RequestFactory) -> None:
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/login/")
    request.user = AnonymousUser()

    assert navigation_context(request) == {}
