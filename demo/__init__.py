"""Demo data: a year of believable lead-to-opportunity history, from 500 leads to a million.

Why it exists: a sales demo, a fresh `make run` and the performance benchmark all need a
funnel whose shape matches DOMAIN.md: conversion rates by source inside the benchmark
ranges, every milestone in order, one opportunity per converted lead, a queue of open
work for every role. `manage.py seed_demo` is the thin interface; `demo.seed.seed_demo`
does the work.

Why an app of its own, on the top floor: it writes the rows of every other app (users,
leads, deals, clocks), so it may import all of them and nothing imports it.

Why it is built this way:
- Rows are plain dicts turned into tuples at once, a chunk of leads at a time (memory stays
  flat), and written with PostgreSQL binary COPY, foreign keys and plain indexes set
  aside until the end (one executemany INSERT per table on SQLite). `Model.save()` and
  `bulk_create()` are bypassed on purpose: both stamp `auto_now_add` fields with the
  current time, which would flatten a year of history onto today. The price is that
  derived fields `save()` would fill (`normalized_*`) are filled here.
- Primary keys are allocated here, not by the database, so a chunk can point at its own
  rows without a round trip; the sequences are moved past them afterwards.
- The lead services are not used: they write row by row and would take hours for a
  million leads. The invariants they keep (milestone order, a transition row per move,
  the five criteria before conversion, SLA clocks started and stopped by the lifecycle
  and swept on time) are kept by construction instead and checked by tests/demo/. The
  handful of settings rows (routing rules) do go through their service, for the audit.
- Every random choice comes from one seeded `random.Random` and every time is an offset
  from `now`, so the same seed, `now` and lead count give the same data.

The modules, bottom up:
    randomness    the seeded Random, weighted picks, quota allocation
    funnel        the funnel's shape: source mix, conversion targets, off-ramps
    vocabulary    the fixed word lists names and notes are drawn from
    people        companies and people: names, domains, e-mail addresses
    staff         the demo logins and their teams
    routing       the routing rules (made through the settings service) and their matching
    rows          dict rows to tuples, grouped per table in write order
    references    ids of existing rows the generated rows point at; routing rules, SLA policies
    working_time  due times on a business calendar, laid out once for the whole year
    world         the state every story draws from (Random, ids, companies, contacts)
    lead_story    one lead's rows, from arrival to `now`
    qualification the five criteria as far as the lead got, with evidence a rep would write
    deal_story    the opportunity a converted lead became
    clock_story   the lead's SLA clocks, with the sweep's warnings, breaches, escalations, bell
    desk          every rep's work for today: clocks on track, at risk and overdue right now
    targets       marketing's MQL targets per month and source, against what was delivered
    generator     DemoGenerator: accounts, then leads a chunk at a time
    bulk_load     writing the rows fast (COPY, deferred keys and indexes)
    seed          seed_demo, delete_demo_data and the guards around them
"""
