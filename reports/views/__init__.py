"""The reports' browser pages: `pages` (the dashboard, the reports, drill-downs, CSV) and
`settings_pages` (benchmarks, MQL targets and their change history)."""
