"""Response headers and the API's documentation doors: a strict Content-Security-Policy,
a Permissions-Policy, `Cache-Control: no-store` on the API, a schema and docs behind
sign-in (unless API_SCHEMA_PUBLIC), Swagger UI from our own files; and the compose
file's defaults pass `check --deploy`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings as django_settings
from django.test import Client
from rest_framework.test import APIClient

from crm.models import User

ROOT = Path(django_settings.BASE_DIR)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part
    }


def test_pages_carry_a_strict_content_security_policy(manager):
    csp = directives(signed_in(manager).get("/"))

    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    everything = " ".join(" ".join(sources) for sources in csp.values())
    assert "unsafe-inline" not in everything
    assert "unsafe-eval" not in everything


def test_the_sign_in_page_has_the_policy_too(db):
    response = Client().get("/login/")

    assert directives(response)["script-src"] == ["'self'"]
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.parametrize("path", ["/", "/api/v1/leads/"])
def test_powerful_browser_features_are_off(sdr, path):
    policy = signed_in(sdr).get(path)["Permissions-Policy"]

    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/v1/leads/", 200), ("/api/v1/leads/999999/", 404), ("/api/schema/", 200)],
)
def test_api_responses_are_never_stored(sdr, path, status):
    client = APIClient()
    client.force_authenticate(sdr)

    response = client.get(path)

    assert response.status_code == status
    assert response["Cache-Control"] == "no-store"


def test_an_anonymous_api_answer_is_not_stored_either(db):
    response = APIClient().get("/api/v1/leads/")

    assert response.status_code == 401
    assert response["Cache-Control"] == "no-store"


def test_pages_outside_the_api_keep_their_caching(sdr):
    assert signed_in(sdr).get("/").get("Cache-Control", "") != "no-store"


# --- the schema and its docs ------------------------------------------------------------


def test_the_schema_needs_a_signed_in_user(db):
    response = APIClient().get("/api/schema/")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["code"] == "not_authenticated"


def test_the_schema_is_served_to_a_token_client(sdr):
    client = APIClient()
    client.force_authenticate(sdr)

    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert b"openapi:" in response.content


def test_the_docs_send_a_signed_out_browser_to_sign_in(db):
    response = Client().get("/api/docs/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/api/docs/")


def test_the_schema_and_docs_can_be_made_public(db, settings):
    settings.API_SCHEMA_PUBLIC = True

    assert APIClient().get("/api/schema/").status_code == 200
    assert Client().get("/api/docs/").status_code == 200


def test_the_docs_load_swagger_ui_from_our_own_files_with_no_inline_code(sdr):
    client = signed_in(sdr)

    page = client.get("/api/docs/")
    html = page.content.decode()
    script = client.get("/api/docs/?script=")

    assert page.status_code == 200
    assert "cdn.jsdelivr" not in html and "unpkg" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in s for s in sources)
    assert all(s.startswith("/") for s in sources)
    assert "<style" not in html
    assert re.search(r"<script>", html) is None
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


# --- templates stay within the policy ---------------------------------------------------

# Inline code the CSP refuses: a <script> with a body (data blocks are fine), <style>,
# style="" attributes and on*="" handlers. E-mails are not pages.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>\s*\S"
    r"|<style\b|\sstyle=|\son[a-z]+=",
    re.IGNORECASE,
)


# Not our pages: HTML that RevOps pastes into their own website (the web-to-lead snippet),
# where the honeypot field must hide itself without our stylesheet.
FOREIGN_PAGES = ("snippet",)


def _page_templates() -> list[Path]:
    found = [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]
    return sorted(
        p
        for p in found
        if "email" not in p.parts
        and ".venv" not in p.parts
        and not set(FOREIGN_PAGES) & set(p.parts)
    )


COMMENTS = re.compile(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", re.DOTALL)


def test_no_page_template_has_inline_script_or_style():
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0).strip()}"
        for path in _page_templates()
        for match in INLINE.finditer(COMMENTS.sub("", path.read_text()))
    ]

    assert offenders == []


def test_alpine_is_the_csp_build():
    base = (ROOT / "templates" / "base.html").read_text()

    assert "vendor/alpinejs-csp/alpine-csp.min.js" in base
    assert not (ROOT / "static" / "vendor" / "alpinejs").exists()


# --- deploy -----------------------------------------------------------------------------


def test_plain_http_is_redirected_except_the_health_probe(db, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert Client().get("/login/")["Location"] == "https://testserver/login/"
    assert Client().get("/health/").status_code != 301
    assert Client().get("/login/", headers={"X-Forwarded-Proto": "https"}).status_code == 200


def _compose_environment() -> dict[str, str]:
    """The web service's environment with the compose file's defaults (`${X:-default}`)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    app = {**compose["x-app"]["environment"], **compose["services"]["web"]["environment"]}
    values = {}
    for name, value in app.items():
        value = str(value)
        value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
        value = re.sub(
            r"\$\{[A-Z_]+:\?[^}]*\}", "compose-requires-a-real-secret-" + "x" * 40, value
        )
        values[name] = value
    return values


def test_the_compose_defaults_pass_the_deploy_check():
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        **_compose_environment(),
        "DJANGO_SETTINGS_MODULE": "crm.settings",
    }
    # The check needs no database or Redis connection; the compose hosts do not resolve here.
    env["DATABASE_URL"] = "sqlite:///:memory:"

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert env["SECURE_SSL_REDIRECT"] == "1"
