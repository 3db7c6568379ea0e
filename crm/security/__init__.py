"""Sign-in protection: how many failed sign-ins lock an account from one address, who is
locked out now, and the RevOps page that edits the policy and unlocks.

django-axes does the counting (its `AccessAttempt` rows, one `AccessFailureLog` row per
failure, flagged when it locks); this package gives it the policy RevOps sets
(`policy.failure_limit` and `policy.cool_off`), the lockout answer (`lockout.response`),
and owns the audited changes (`services`). `setup.ready()` runs from `CrmConfig.ready()`.
"""
