"""The fault suite: `make faults` (or `python -m faults`, `--short` for CI's version).

It starts a stack of its own — PostgreSQL (initdb into a temporary folder), a Redis for
the cache and one for the broker, gunicorn, a Celery worker and beat with production
settings (DEBUG=0) — on spare ports, never the shared servers; seeds people of every role
and leads ready to convert; then runs scripted faults under API traffic:

- `kill`: the worker killed with -9 in the middle of an SLA sweep;
- `redis`: Redis restarted with its data lost while tasks are queued;
- `postgres`: PostgreSQL restarted (immediate shutdown) during a burst of API writes;
- `beats`: two beats at once (two minutes; 15 s in the short run);
- `broker`: the broker down when conversions commit;
- `cache`: the Redis cache down.

After each one the invariant checker (`faults.invariants`) reads the database and the
mailbox (`faults.mailbox`). The run prints one table row per fault — requests made, 5xx
outside and inside the fault's outage window, lost, duplicated — and exits non-zero when
anything was lost, duplicated or half written, or a 5xx came outside an outage window.

Not a Django app: nothing of the product imports it. `faults.settings` is the settings
module of the processes it starts (production's, with e-mail into its mailbox).
"""
