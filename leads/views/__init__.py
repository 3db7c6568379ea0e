"""HTML views for the SDR's day, by topic: the queue, intake and editing, the lead page,
its lifecycle steps, the qualification panel, the hand-off and activities.

Every view is thin: `leads.access.lead_for` fetches and authorizes, a form parses, one
service acts, `leads.selectors` reads. Field problems come back on the form
(`crm.web.forms.submit`); every other domain error rises to
`crm.web.errors.DomainErrorMiddleware`, which answers in one place.
"""
