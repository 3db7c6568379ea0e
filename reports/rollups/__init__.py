"""Daily rollups: what the dashboard reads instead of scanning millions of rows.

Each rollup table (reports.models) holds, per UTC hour, day and month and per combination
of the fields that scoping and filters need (source, team, owner, AE, ...), the *additive*
figures of a cohort: counts and sums. A report period in the reader's zone rarely starts
at UTC midnight, so a figure is

    SUM over the rollup rows of the whole months, days and hours inside the period
  + the same aggregate over the source rows of the minutes left at its two ends,

which is exact for any period and zone. Medians are not additive: pages read them from
one narrow row per source row and figure, bucketed by value, so an exact median counts
the rows per bucket and sorts only the middle bucket (`durations.py`); the API and the
fallback compute them from the source rows (`reports.aggregates`).

Pages use the rollups only while they are fresher than `THRESHOLD_ROLLUP_MAX_AGE`;
otherwise they fall back to the source tables (slower, never wrong). The API always reads
the source tables (live figures).

    periods.py   a period as rollup rows plus source ranges
    reading.py   `Rollup` (how a table answers for a cohort), `cohort_figures`, freshness
    storage.py   writing hour rows and summing them up into day and month rows
    leads.py opportunities.py handoffs.py timers.py   each rollup: its figures and builder
    durations.py the rows exact medians are read from (funnel, response, stage stays)
    refresh.py   `refresh()`: incremental every half minute, full every night

Layering: this package stands on `reports.cohorts` (the cohorts and predicates) and the
models; the selectors stand on it. Nothing here imports a selector.
"""
