"""CSV import of leads: a hand-written streaming path, not django-import-export.

ARCHITECTURE.md names django-import-export for CSV import. It was measured here
(4.3.14 with tablib 3.8.0, a ModelResource over Lead, PostgreSQL 15, this 2-core machine):
255 rows/s saving row by row and 573 rows/s with `use_bulk`, writing the Lead row alone;
the path below took in 2,400 rows/s in the same conditions, writing all eight rows a lead
gets at intake. Its import loop is per row by design: a lookup query per row for the
`import_id_fields`, a model instance, per-field widgets and `full_clean` per row, and then
`bulk_create` at best; a lead taken in properly also needs its qualification, its history
(CREATED and ASSIGNED events, the NEW -> MQL transition), routing in turn and its SLA
clocks, which the library has no set-based hook for (its `after_save_instance` is per row
again). Against a target of 20,000 rows/s the per-row shape is out of reach (35x below
at best), whatever is tuned inside the loop.

This path does not reach 20,000 rows/s on this machine either: 2,400 rows/s at 100,000
rows (`make bench`, bench/imports.py, 187x a bare COPY of the file). Two thirds of its
time is the database: eight rows per lead into tables carrying 22 (leads) and 10 (SLA
timers) indexes, and 17 foreign keys per lead checked at commit; Python is the rest.

So the file is read as a stream (`imports.files`: csv and the codecs of the standard
library, `charset-normalizer` to name a wrong encoding), converted row by row in one
tight loop (`imports.rows`), and taken in a batch at a time by the leads' set-based bulk
intake (`leads.services.bulk_intake`): two index probes for the whole batch to find who is
already known, one binary COPY per table, one INSERT ... SELECT per SLA policy, each
batch one transaction with the job's counters. It is also simpler where it matters: the
mapping of Salesforce, HubSpot and Pipedrive headers and picklists is a table
(`imports.columns`), not a Resource class per export format, and the rules stay in one
place (`leads.gate.intake_problems`, `leads.identity`, the routing rules), which a
Resource would have duplicated in its widgets and hooks.
"""
