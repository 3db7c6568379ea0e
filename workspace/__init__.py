"""Pages that show every app at once: My work (home) with a manager's team view, the
global search with its Ctrl+K palette (page, palette JSON, `GET /api/v1/search/`), and the
Settings hub.

The top floor: it may import every app below it, and nothing imports it. It has no models;
its one migration adds the search's trigram indexes to the other apps' tables.
"""
