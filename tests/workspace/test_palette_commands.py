"""The palette's "go to" commands answer the words users type for a page, not only its
sidebar label: "board" is the pipeline, "queue" the lead list (workspace.commands)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def command_ids(client: Client, text: str) -> list[str]:
    answer = client.get(reverse("search-palette"), {"q": text}).json()
    return [command["id"] for command in answer["commands"]]


@pytest.mark.parametrize(
    ("typed", "command"),
    [
        ("board", "go-opportunities:board"),
        ("kanban", "go-opportunities:board"),
        ("pipeline", "go-opportunities:board"),
        ("queue", "go-leads:list"),
        ("dashboard", "go-reports:dashboard"),
    ],
)
def test_go_commands_answer_the_words_users_type(client: Client, typed: str, command: str):
    client.force_login(UserFactory(sdr=True))

    assert command_ids(client, typed)[0] == command


def test_indonesian_users_find_them_in_both_languages(client: Client) -> None:
    client.force_login(UserFactory(sdr=True, language="id"))

    assert "go-opportunities:board" in command_ids(client, "papan")
    assert "go-opportunities:board" in command_ids(client, "board")
