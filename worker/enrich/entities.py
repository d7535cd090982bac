"""Named entities from a gazetteer, matched on folded spellings with Devanagari-safe boundaries.

The gazetteer (``config/gazetteer.json``, built by ``config/gazetteer/build.py`` and
shipped as package data) lists each entity once with its English canonical name and its
aliases in Latin, Devanagari, Urdu and Bengali spellings. Aliases are stored as sequences
of word tokens under the matching key (nukta, chandrabindu, joiners and case folded), and
an article's tokens are looked up in that table: whole tokens only, so ``रूसी`` (Russian)
is never ``रूस`` (Russia), and the cost does not grow with the size of the gazetteer.
The longest alias at a position wins, so ``Allahabad High Court`` is the court, not
the city. An alias written in capitals (``US``, ``U.S.``, ``AAP``) matches only words
written in capitals: ``us`` and ``aap`` are words of English and Hindi. A one-word one
(``US``) also needs words around it that are not in capitals, since a headline in
capitals (``LET US GO``) writes the pronoun so too; ``U.S.`` with its dots is a name anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from itertools import compress
from pathlib import Path
from typing import Any

import orjson

from worker.enrich.normalize import matching_key
from worker.enrich.tokens import TOKEN, tokenize

ENTITY_TYPES = frozenset({"person", "place", "organization"})


class GazetteerError(ValueError):
    """The gazetteer file is missing, not JSON, or not in the expected shape."""


@dataclass(frozen=True, slots=True)
class Entity:
    canonical: str
    type: str


@dataclass(frozen=True, slots=True)
class EntityMention:
    """All mentions of one entity in a text, in order of first mention."""

    canonical: str
    type: str
    mentions: int
    forms: tuple[str, ...]
    first: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "canonical": self.canonical,
            "type": self.type,
            "mentions": self.mentions,
            "forms": list(self.forms),
        }


def token_keys(tokens: Sequence[str]) -> list[str]:
    """The matching key of each token, in one pass over the joined text.

    Tokens contain no spaces, so keying the joined text keeps one key per token.
    """
    return matching_key(" ".join(tokens)).split(" ")


class Gazetteer:
    """A compiled gazetteer. Build once (it compiles a large regex) and share it."""

    def __init__(self, entities: Mapping[str, Entity], capitals: Iterable[str] = ()) -> None:
        """``entities`` maps each alias's matching key to its entity; ``capitals`` are the
        keys that match only words written in capitals."""
        self._by_key = dict(entities)
        self._capitals = frozenset(tuple(TOKEN.findall(k)) for k in capitals)
        self._capital_singles = frozenset(p[0] for p in self._capitals if len(p) == 1)
        # First key token -> the aliases (as key-token tuples) starting with it, longest first.
        starts: dict[str, list[tuple[tuple[str, ...], Entity]]] = {}
        for key, entity in self._by_key.items():
            parts = tuple(TOKEN.findall(key))
            if parts:
                starts.setdefault(parts[0], []).append((parts, entity))
        for candidates in starts.values():
            candidates.sort(key=lambda c: -len(c[0]))
        # One lookup per token that starts an alias: its one-word alias's entity (or None),
        # and the second key tokens its longer aliases go on with. A start word that is
        # also a common word ("a", "the", "के") then costs one dict and one set lookup
        # when the next token continues no alias.
        self._plan: dict[str, tuple[Entity | None, frozenset[str]]] = {
            first: (
                next((e for p, e in c if len(p) == 1), None),
                frozenset(p[1] for p, _ in c if len(p) > 1),
            )
            for first, c in starts.items()
        }
        # (first, second) -> the aliases that may match there, longest first, the one-word
        # alias last: (key tokens, whether capitals only, entity). Only these can match
        # when the second token follows, so the others are never tried.
        self._pairs: dict[tuple[str, str], list[tuple[list[str], bool, Entity]]] = {}
        for first, c in starts.items():
            for second in self._plan[first][1]:
                self._pairs[first, second] = [
                    (list(p), p in self._capitals, e) for p, e in c if len(p) == 1 or p[1] == second
                ]

    def __len__(self) -> int:
        return len({e.canonical for e in self._by_key.values()})

    @classmethod
    def from_json(cls, data: bytes) -> Gazetteer:
        """Build from the gazetteer JSON document; raises :class:`GazetteerError`."""
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise GazetteerError(f"not JSON: {exc}") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("entities"), list):
            raise GazetteerError("expected an object with an 'entities' list")
        by_key: dict[str, Entity] = {}
        capitals: set[str] = set()
        for i, item in enumerate(doc["entities"]):
            if not isinstance(item, dict):
                raise GazetteerError(f"entities[{i}] is not an object")
            canonical, kind, aliases = item.get("canonical"), item.get("type"), item.get("aliases")
            if not isinstance(canonical, str) or not canonical:
                raise GazetteerError(f"entities[{i}] has no canonical name")
            if kind not in ENTITY_TYPES:
                raise GazetteerError(f"{canonical}: type must be one of {sorted(ENTITY_TYPES)}")
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                raise GazetteerError(f"{canonical}: aliases must be a list of strings")
            entity = Entity(canonical, kind)
            for alias in [canonical, *aliases]:
                key = matching_key(" ".join(TOKEN.findall(alias)))
                if not key:
                    continue
                if key not in by_key:
                    # First entity wins an alias two entities share; the order of the file
                    # is the tie-break, so put the more newsworthy entity first.
                    by_key[key] = entity
                    if alias.isupper():
                        capitals.add(key)
                elif by_key[key] is entity and not alias.isupper():
                    capitals.discard(key)  # "Sebi" beside "SEBI": any case will do
        return cls(by_key, capitals)

    @classmethod
    def from_path(cls, path: Path | Traversable) -> Gazetteer:
        """Build from a file, or from a package resource (``importlib.resources``)."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise GazetteerError(f"cannot read gazetteer {path}: {exc.strerror}") from exc
        try:
            return cls.from_json(data)
        except GazetteerError as exc:
            raise GazetteerError(f"{path}: {exc}") from exc

    def find(self, text: str) -> list[EntityMention]:
        """Every gazetteer entity mentioned in ``text``, in order of first mention."""
        return self.find_tokens(tokenize(text))

    def find_tokens(
        self, tokens: Sequence[str], keys: Sequence[str] | None = None
    ) -> list[EntityMention]:
        """Entities in a sequence of word tokens (see :func:`worker.enrich.tokens.tokenize`).

        Use ``""`` between tokens of separate passages, so no alias spans the gap.
        ``keys`` are the tokens' matching keys, if the caller has them already.
        ``first`` of each mention is a token index; ``forms`` are the tokens as written,
        joined by single spaces.
        """
        return [
            EntityMention(e.canonical, e.type, n, tuple(forms), first)
            for e, n, forms, first in self._found(tokens, keys).values()
        ]

    def find_records(self, tokens: Sequence[str], keys: Sequence[str]) -> list[dict[str, Any]]:
        """What :meth:`find_tokens` finds, as :meth:`EntityMention.as_dict` gives it (the
        enriched record's ``entities``), without making the mentions first."""
        return [
            {"canonical": e.canonical, "type": e.type, "mentions": n, "forms": list(forms)}
            for e, n, forms, _ in self._found(tokens, keys).values()
        ]

    def _found(self, tokens: Sequence[str], keys: Sequence[str] | None) -> dict[str, list[Any]]:
        """Canonical name -> [entity, mentions, forms (an ordered set), first token index]."""
        if keys is None:
            keys = token_keys(tokens)
        elif not isinstance(keys, list):
            keys = list(keys)  # compared with alias lists below
        plan, capital_singles = self._plan, self._capital_singles
        n = len(keys)
        found: dict[str, list[Any]] = {}
        skip_until = 0
        for i in compress(range(n), map(plan.__contains__, keys)):
            if i < skip_until:
                continue
            key = keys[i]
            entity, seconds = plan[key]
            if seconds and i + 1 < n and keys[i + 1] in seconds:
                # Longest first: the first candidate whose tokens all follow is the match.
                for parts, capital, candidate in self._pairs[key, keys[i + 1]]:
                    end = i + len(parts)
                    if keys[i:end] == parts and (
                        not capital or all(t.isupper() for t in tokens[i:end])
                    ):
                        entity = candidate
                        break
                else:
                    continue
                skip_until = end
                form = " ".join(tokens[i:end])
            elif entity is None or (
                key in capital_singles and not self._capital_word(tokens, keys, i)
            ):
                continue
            else:
                form = tokens[i]
            slot = found.get(entity.canonical)
            if slot is None:
                # Forms in a dict (an ordered set): an entity can be written in thousands
                # of case variants, and a list would be searched once per mention.
                found[entity.canonical] = [entity, 1, {form: None}, i]
            else:
                slot[1] += 1
                slot[2].setdefault(form, None)
        return found

    def _capital_word(self, tokens: Sequence[str], keys: Sequence[str], i: int) -> bool:
        """Whether token ``i``, a capital-only one-word alias, is written as that name.

        It must be in capitals, and not amid words in capitals: ``LET US GO`` and
        ``HELP US`` are a headline's pronoun. Each neighbour in the same passage counts
        against it when it is a word of two or more letters in capitals that is not
        itself such an alias (``US, UK and EU`` is names beside names); a token with no
        neighbour at all (``US`` alone) is the name.
        """
        if not tokens[i].isupper():
            return False
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(tokens) and tokens[j]]
        return not neighbours or not all(
            len(tokens[j]) > 1 and tokens[j].isupper() and keys[j] not in self._capital_singles
            for j in neighbours
        )
