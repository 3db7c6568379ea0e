"""HTML views for the AE's half, by topic:

- `convert`: the conversion wizard on a lead;
- `deals`: the deal list, one deal, its edit form, moving it, the manager's approval;
- `overrides`: the approvals page for conversion override requests;
- `board`: the pipeline board and its drag-and-drop moves.

Views fetch through `opportunities.access`, read through `opportunities.selectors`, call
one service and render; domain errors become responses in `crm.web.errors`.
"""
