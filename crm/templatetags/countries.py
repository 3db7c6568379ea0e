"""`{{ code|country_name }}`: a lead's stored ISO code ("ID") as the reader's language names
the country ("Indonesia"), for pages that show a country rather than edit it."""

from __future__ import annotations

from django import template

from crm.countries import country_names

register = template.Library()


@register.filter
def country_name(code: str | None) -> str:
    """The country's name in the active language; an unknown code as it is."""
    if not code:
        return ""
    return country_names().get(code, code)
