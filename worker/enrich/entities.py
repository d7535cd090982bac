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
from worker.enrich.tokens import TOKEN

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
        self._starts = starts
        # Most aliases are one word and start no longer alias: a plain lookup for those.
        self._single = {k: c[0][1] for k, c in starts.items() if len(c) == 1 and len(c[0][0]) == 1}
        # For the other starts: the second key tokens their longer aliases go on with, and
        # their one-token alias. A start word that is also a common word ("a") then costs
        # one set lookup when the next token continues no alias, not a try of each alias.
        # (Only for the starts not in _single, which are the few: the tables stay small.)
        rest = {k: c for k, c in starts.items() if k not in self._single}
        self._seconds = {k: frozenset(p[1] for p, _ in c if len(p) > 1) for k, c in rest.items()}
        self._alone = {k: e for k, c in rest.items() for p, e in c if len(p) == 1}

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
        return self.find_tokens(TOKEN.findall(text))

    def find_tokens(
        self, tokens: Sequence[str], keys: Sequence[str] | None = None
    ) -> list[EntityMention]:
        """Entities in a sequence of word tokens (see :func:`worker.enrich.tokens.tokenize`).

        Use ``""`` between tokens of separate passages, so no alias spans the gap.
        ``keys`` are the tokens' matching keys, if the caller has them already.
        ``first`` of each mention is a token index; ``forms`` are the tokens as written,
        joined by single spaces.
        """
        if keys is None:
            keys = token_keys(tokens)
        starts, single = self._starts, self._single
        capital_singles = self._capital_singles
        found: dict[str, list[Any]] = {}
        skip_until = 0
        for i in compress(range(len(keys)), map(starts.__contains__, keys)):
            if i < skip_until:
                continue
            entity = single.get(keys[i])
            if entity is not None:
                if keys[i] in capital_singles and not self._capital_word(tokens, keys, i):
                    continue
                form = tokens[i]
            elif (keys[i + 1] if i + 1 < len(keys) else "") not in self._seconds[keys[i]]:
                entity = self._alone.get(keys[i])
                if entity is None or (
                    keys[i] in capital_singles and not self._capital_word(tokens, keys, i)
                ):
                    continue
                form = tokens[i]
            else:
                # Longest first: the first candidate whose tokens all follow is the match.
                match = next(
                    (
                        c
                        for c in starts[keys[i]]
                        if tuple(keys[i : i + len(c[0])]) == c[0] and self._cased(c[0], tokens, i)
                    ),
                    None,
                )
                if match is None:
                    continue
                parts, entity = match
                skip_until = i + len(parts)
                form = " ".join(tokens[i:skip_until])
            slot = found.get(entity.canonical)
            if slot is None:
                # Forms in a dict (an ordered set): an entity can be written in thousands
                # of case variants, and a list would be searched once per mention.
                found[entity.canonical] = [entity, 1, {form: None}, i]
            else:
                slot[1] += 1
                slot[2].setdefault(form, None)
        return [
            EntityMention(e.canonical, e.type, n, tuple(forms), first)
            for e, n, forms, first in found.values()
        ]

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

    def _cased(self, parts: tuple[str, ...], tokens: Sequence[str], i: int) -> bool:
        """Whether the tokens at ``i`` are written as alias ``parts`` requires (capitals)."""
        return parts not in self._capitals or all(t.isupper() for t in tokens[i : i + len(parts)])
