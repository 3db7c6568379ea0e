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

This path does not reach 20,000 rows/s on this machine either, and cannot as long as a
lead is written as it is now. Per 100,000 rows (CPU seconds, `make bench` prints them
beside the wall time, which a shared machine stretches several times over): the worker
spends 5-6 s (8 s before the fast paths of December 2026) and its PostgreSQL backend
19-22 s. Copying the very rows a run writes from a dump, with nothing in Python, costs
the server 15.8 s on its own: the leads 6.2 s (0.25 s without their indexes: the five
trigram GIN search indexes take 2.6 s, the fifteen B-trees 1.9 s, the rest is their
buffers), the SLA timers 1.5 s, events, transitions and qualifications 1.7 s, and the
foreign keys checked at commit 6.4 s (17 per lead, 2.7 s of them the timers'). So on
an idle machine the run is bound near 6,000 rows/s by the database, whatever Python does.

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
