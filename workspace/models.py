"""The workspace's one table: the words of the searched names, for the typo pass of the
global search (`workspace/search_words.py`)."""

from __future__ import annotations

from django.db import models


class SearchWord(models.Model):
    """One distinct word (lower case, 3 to 60 letters or digits) of a lead's company or
    person, an account's, a contact's or a deal's name.

    A misspelt word is looked up here by trigram similarity — among tens of thousands of
    words rather than a million names — and the names holding its close matches are then
    found by containment, through the names' own trigram indexes.

    Written by the database, not by Django: triggers of the migration
    `workspace/0002_search_words` add the words of every row inserted or renamed, whatever
    wrote it (a form, the API, a merge, the CSV import's bulk insert). No unique
    constraint on purpose: two transactions adding the same new word would otherwise wait
    for each other (an import's long transaction holding up a sales rep's save); a rare
    duplicate costs nothing, the lookup reads distinct words. A word whose names are
    all gone stays until `refresh_search_words` drops it: the typo pass then suggests a
    spelling that finds nothing, never hides a row."""

    word = models.CharField(max_length=60)

    class Meta:
        indexes = [models.Index(fields=["word"], name="search_word_word")]

    def __str__(self) -> str:
        return self.word
