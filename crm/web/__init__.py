"""Plumbing every HTML view shares: domain errors as responses, form submission, keyset
pages. Nothing here knows about leads, deals or clocks."""
