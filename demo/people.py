"""Companies and the people in them: names, domains, e-mail addresses and phone numbers,
drawn from the word lists in `demo.vocabulary`."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from demo.vocabulary import (
    ID_FIRST,
    ID_LAST,
    ID_PREFIXES,
    ID_SECTORS,
    ID_TAILS,
    INTL_ENDINGS,
    INTL_FIRST,
    INTL_LAST,
    INTL_QUALIFIERS,
    INTL_ROOTS,
    INTL_SECTORS,
    JOB_TITLES,
    PHONE_PREFIX,
)
from leads.models import Segment

# (company name, domain without its top-level part, industry)
CompanyName = tuple[str, str, str]


@dataclass(slots=True)
class Company:
    account_id: int
    name: str
    domain: str
    country: str
    industry: str
    employees: int
    segment: str
    owner_id: int


@dataclass(slots=True)
class Person:
    first_name: str
    last_name: str
    email: str
    phone: str
    job_title: str
    is_decision_maker: bool


@dataclass(frozen=True)
class NameSpace:
    """A product of word lists, addressed by an integer, so names can be sampled without
    replacement from millions of combinations without building them all."""

    axes: tuple[tuple[str, ...], ...]
    render: Callable[[tuple[str, ...]], CompanyName]

    @property
    def size(self) -> int:
        size = 1
        for axis in self.axes:
            size *= len(axis)
        return size

    def decode(self, index: int) -> CompanyName:
        words = []
        for axis in reversed(self.axes):
            index, position = divmod(index, len(axis))
            words.append(axis[position])
        return self.render(tuple(reversed(words)))


def _indonesian_company(words: tuple[str, ...]) -> CompanyName:
    *prefixes, sector, tail = words
    parts = [*prefixes, sector, tail] if tail else [*prefixes, sector]
    return f"PT {' '.join(parts)}", "".join(parts).lower(), ID_SECTORS[sector]


def _international_company(words: tuple[str, ...]) -> CompanyName:
    root, ending, sector, *qualifier = words
    name = " ".join([f"{root}{ending}", sector, *qualifier])
    base = "".join([root, ending, sector, *qualifier]).lower()
    return name, base, INTL_SECTORS[sector]


@cache
def indonesian_name_spaces() -> tuple[NameSpace, ...]:
    """ "PT Sinar Logistik Utama" first (23k), "PT Sinar Cahaya Logistik" after (1.1M)."""
    sectors = tuple(ID_SECTORS)
    return (
        NameSpace((ID_PREFIXES, sectors, ID_TAILS), _indonesian_company),
        NameSpace((ID_PREFIXES, ID_PREFIXES, sectors, ID_TAILS), _indonesian_company),
    )


@cache
def international_name_spaces() -> tuple[NameSpace, ...]:
    """ "Brightwave Analytics" first (16k), "Brightwave Analytics Asia" after (160k)."""
    sectors = tuple(INTL_SECTORS)
    return (
        NameSpace((INTL_ROOTS, INTL_ENDINGS, sectors), _international_company),
        NameSpace((INTL_ROOTS, INTL_ENDINGS, sectors, INTL_QUALIFIERS), _international_company),
    )


def unique_company_names(
    rng: random.Random, k: int, spaces: Sequence[NameSpace]
) -> Iterator[CompanyName]:
    """k distinct company names: short names first, longer combinations once those run
    out, then numbered copies, so any k works."""
    produced = 0
    for space in spaces:
        take = min(k - produced, space.size)
        for index in rng.sample(range(space.size), take):
            yield space.decode(index)
        produced += take
    copy = 2
    while produced < k:
        for space in spaces:
            for index in range(min(k - produced, space.size)):
                name, base, industry = space.decode(index)
                yield f"{name} {copy}", f"{base}{copy}", industry
                produced += 1
        copy += 1


def segment_for(employees: int) -> str:
    if employees < 200:
        return Segment.SMB
    if employees < 1000:
        return Segment.MID_MARKET
    return Segment.ENTERPRISE


@cache
def email_local_part(first: str, last: str) -> str:
    """`Anna de Vries` -> `anna.devries`."""
    return "".join(c for c in f"{first}.{last}".lower() if c.isalnum() or c == ".")


def person_at(
    rng: random.Random, company: Company, *, title: tuple[str, bool] | None = None
) -> Person:
    """Someone at `company`; `title` is (job title, decision maker?), random if omitted."""
    local = company.country == "ID" or (company.country == "MY" and rng.random() < 0.3)
    first = rng.choice(ID_FIRST if local else INTL_FIRST)
    last = rng.choice(ID_LAST if local else INTL_LAST)
    job_title, decides = title or rng.choice(JOB_TITLES)
    return Person(
        first_name=first,
        last_name=last,
        email=f"{email_local_part(first, last)}@{company.domain}",
        phone=f"{PHONE_PREFIX[company.country]} {rng.randrange(1000, 9999)} "
        f"{rng.randrange(100, 999)}",
        job_title=job_title,
        is_decision_maker=decides,
    )
