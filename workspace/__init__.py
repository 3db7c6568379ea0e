"""Pages that show every app at once: My work (home); later the global search.

The top floor: it may import every app below it, and nothing imports it.
"""
