"""Capture's state changes: forms and keys (RevOps), submissions and webhook rows
(visitors and marketing automation, through `leads.services.intake.lead_intake`)."""
