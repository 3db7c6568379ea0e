"""The typo pass of the global search: the close spellings of a misspelt query, from the
words of the searched names (`workspace.models.SearchWord`, kept by the triggers of the
migration `workspace/0002_search_words`).

"Buaa Karya" → "buana karya": each word of the query that is no word of any name is
looked up by trigram similarity among the distinct words (a millisecond: tens of
thousands of rows, one small trigram index), and the best few combinations of the close
words are returned as phrases, which the search then looks up by containment through
the names' own trigram indexes — as fast as a correctly spelt query, where a similarity
lookup in those indexes reads the posting lists of every trigram of the text in a
million names. PostgreSQL only (pg_trgm).
"""

from __future__ import annotations

import re
from itertools import product

from django.db import connection, transaction

# The searched names whose words are kept: table -> columns. The migration
# `workspace/0002_search_words` holds the same (its triggers are built from it).
WORD_SOURCES = {
    "leads_lead": ("company_name", "first_name", "last_name"),
    "crm_account": ("name",),
    "crm_contact": ("first_name", "last_name"),
    "opportunities_opportunity": ("name",),
}
# A word as the triggers cut it: letters and digits (PostgreSQL's [[:alnum:]]).
_WORD = re.compile(r"[^\W_]+")
WORD_MIN_LENGTH = 3
MAX_WORDS = 4  # of the query: the first ones are corrected, the rest kept as typed
CHOICES = 3  # close words considered per misspelt word
SPELLINGS = 3  # phrases returned, best first

# For each word of the query, its closest words (pg_trgm's similarity, at least its
# threshold, 0.3): the word itself first when it is one.
_CLOSE_WORDS = """
SELECT t.token, c.word, c.score
FROM unnest(%s::text[]) AS t(token)
CROSS JOIN LATERAL (
    SELECT word, similarity(word, t.token) AS score
    FROM workspace_searchword
    WHERE word %% t.token
    GROUP BY word
    ORDER BY score DESC, word
    LIMIT %s
) AS c
"""


def words_of(text: str) -> list[str]:
    """The words of `text` as the name words are kept: lower case, letters and digits."""
    return _WORD.findall(text.lower())


def spellings(text: str) -> list[str]:
    """The best SPELLINGS phrases `text` may have been meant as, best first; none when
    every word of it is a word of some name (or too short to correct).

    A word that is no name's word is replaced by each of its CHOICES closest words, or
    kept as typed (it may be the start of a word still being typed); a phrase scores the
    sum of its words' similarities, a known word 1."""
    tokens = words_of(text)[:MAX_WORDS]
    looked_up = sorted({token for token in tokens if len(token) >= WORD_MIN_LENGTH})
    if not looked_up:
        return []
    close: dict[str, list[tuple[str, float]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_CLOSE_WORDS, [looked_up, CHOICES])
        for token, word, score in cursor.fetchall():
            close.setdefault(token, []).append((word, float(score)))
    options: list[list[tuple[str, float]]] = []
    for token in tokens:
        found = close.get(token, [])
        if len(token) < WORD_MIN_LENGTH or any(word == token for word, _score in found):
            options.append([(token, 1.0)])
        else:
            options.append([*found, (token, 0.0)])
    typed = " ".join(tokens)
    phrases: list[str] = []
    for combination in sorted(product(*options), key=lambda words: -sum(s for _w, s in words)):
        phrase = " ".join(word for word, _score in combination)
        if phrase != typed and phrase not in phrases:
            phrases.append(phrase)
        if len(phrases) == SPELLINGS:
            break
    return phrases


def refresh_search_words() -> tuple[int, int]:
    """Drop the words no name holds any more (and duplicates two concurrent writers may
    have added); add any missing. Set-based, for a periodic job: the triggers keep the
    table complete, this only keeps it small. A name saved while it runs may lose a word
    it shares with a deleted one until the next refresh: the typo pass is best-effort
    (the containing pass never reads this table). Returns (dropped, added)."""
    sources = " UNION ALL ".join(
        "SELECT concat_ws(' ', " + ", ".join(columns) + f") AS x FROM {table}"
        for table, columns in WORD_SOURCES.items()
    )
    current = (
        f"SELECT w FROM ({sources}) AS t, regexp_split_to_table(lower(x), '[^[:alnum:]]+') AS w "
        f"WHERE length(w) BETWEEN {WORD_MIN_LENGTH} AND 60 GROUP BY w"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE search_words_now ON COMMIT DROP AS {current}")
        cursor.execute(
            "DELETE FROM workspace_searchword s WHERE NOT EXISTS "
            "(SELECT 1 FROM search_words_now n WHERE n.w = s.word) "
            "OR EXISTS (SELECT 1 FROM workspace_searchword d WHERE d.word = s.word AND d.id < s.id)"
        )
        dropped = cursor.rowcount
        cursor.execute(
            "INSERT INTO workspace_searchword (word) SELECT w FROM search_words_now n "
            "WHERE NOT EXISTS (SELECT 1 FROM workspace_searchword s WHERE s.word = n.w)"
        )
        return dropped, cursor.rowcount
