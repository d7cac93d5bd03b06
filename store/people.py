"""Who the episodes are about: guests, hosts, and people a chapter talks about, with aliases.

Names come from the episodes themselves (host, guests, person entities), each episode's
condensed into a `Cast` that the index stores beside it, so building this never reads a whole
episode; aliases come from TOML files, the bundled `seeds/aliases.toml` and the user's own, so
"杨立昆", "勒昆" and "LeCun" all resolve to Yann LeCun.

    [aliases]
    "Yann LeCun" = ["LeCun", "杨立昆", "勒昆"]
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from store.episode import Episode
from store.errors import ParseError
from store.language import has_cjk


@dataclass
class Cast:
    """Who one episode is about, and its title: all that the people index and the filters read of it.

    A few hundred bytes, where the episode with its transcript is 100 KB or more: the 1,668 episodes
    of a 100k-chunk library took 0.9 s to load and decode whole, in every process that searched."""

    episode_id: str
    title: str
    host: str = ""
    guests: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)  # Episode.people: host, guests, person entities
    descriptions: dict[str, str] = field(default_factory=dict)  # of those people, from the episode's entities

    @classmethod
    def of(cls, episode: Episode) -> Cast:
        descriptions = {e.name: e.description for e in episode.entities if e.description}
        return cls(episode.id, episode.title, episode.host, list(episode.guests), episode.people,
                   {name: descriptions[name] for name in episode.people if name in descriptions})

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Cast:
        return cls(**json.loads(text))


@dataclass
class Person:
    name: str
    aliases: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)  # episode id -> guest | host | mentioned
    description: str = ""

    @property
    def episodes(self) -> list[str]:
        return list(self.roles)


class PeopleIndex:
    def __init__(self, people: list[Person]):
        self.people = sorted(people, key=lambda p: p.name)
        self._by_key: dict[str, Person] = {}
        self._spellings: dict[str, Person] = {}  # names and aliases as written, for finding them in text
        for person in self.people:
            for name in [person.name, *person.aliases]:
                self._by_key.setdefault(_key(name), person)
                self._spellings.setdefault(name, person)

    @classmethod
    def build(cls, casts: list[Cast], alias_files: list[Path] = ()) -> PeopleIndex:
        aliases = load_aliases(alias_files)
        people: dict[str, Person] = {}

        def add(name: str, episode_id: str, role: str, description: str = "") -> None:
            person = people.setdefault(name, Person(name, aliases=_default_aliases(name) + aliases.get(name, [])))
            if role != "mentioned" or episode_id not in person.roles:
                person.roles[episode_id] = role
            person.description = person.description or description

        for cast in casts:
            for name in cast.guests:
                add(name, cast.episode_id, "guest", cast.descriptions.get(name, ""))
            if cast.host:
                add(cast.host, cast.episode_id, "host", cast.descriptions.get(cast.host, ""))
            for name in cast.people:
                add(name, cast.episode_id, "mentioned", cast.descriptions.get(name, ""))
        for name, extra in aliases.items():  # people known only from the alias file
            people.setdefault(name, Person(name, aliases=_default_aliases(name) + extra))
        return cls(list(people.values()))

    def resolve(self, name: str) -> Person | None:
        return self._by_key.get(_key(name))

    def mentioned_in(self, text: str) -> list[Person]:
        """People named in free text, by any alias, in order of first mention."""
        found: dict[str, tuple[int, Person]] = {}
        for name, person in self._spellings.items():
            position = _find(text, name)
            if position >= 0 and (person.name not in found or position < found[person.name][0]):
                found[person.name] = (position, person)
        return [p for _, p in sorted(found.values(), key=lambda item: item[0])]

    def without_names(self, text: str) -> str:
        """The question's topic: the text with every known name and alias taken out."""
        for name in sorted(self._spellings, key=len, reverse=True):
            text = re.sub(rf"{name_pattern(name)}(?:['’]s)?", " ", text, flags=re.IGNORECASE)
        return " ".join(text.split())


def load_aliases(paths: list[Path]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for path in paths:
        if not Path(path).exists():
            continue
        try:
            table = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("aliases", {})
        except tomllib.TOMLDecodeError as err:
            raise ParseError(str(path), f"not valid TOML ({err})") from None
        for name, names in table.items():
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ParseError(str(path), f'aliases for "{name}" must be a list of strings')
            merged.setdefault(name, []).extend(n for n in names if n not in merged.get(name, []))
    return merged


def _default_aliases(name: str) -> list[str]:
    """A multi-word name is also known by its last name ('LeCun') and first name ('Oriol')."""
    parts = name.split()
    return [p for p in (parts[-1], parts[0]) if len(p) > 2] if len(parts) > 1 else []


def _key(name: str) -> str:
    return " ".join(name.lower().split())


# Word boundaries for Latin names. Not \b or \w: Python counts CJK characters as word characters,
# so "LeCun强调" would hide the name.
_BEFORE = r"(?<![0-9A-Za-z\u00c0-\u024f])"
_AFTER = r"(?![0-9A-Za-z\u00c0-\u024f])"


def name_pattern(name: str) -> str:
    """A regex for `name` as a whole name in text ("Sam" not in "Samsung"); CJK names have no word boundaries."""
    return re.escape(name) if has_cjk(name) else rf"{_BEFORE}{re.escape(name)}{_AFTER}"


def _find(text: str, name: str) -> int:
    if has_cjk(name):
        return text.find(name)
    if " " in name or text == text.lower():
        pattern = rf"(?i:{re.escape(name)})"
    else:  # one word in a capitalised question is a name only as a proper noun: "Rich", not "rich data"
        pattern = rf"{re.escape(name[0])}(?i:{re.escape(name[1:])})"
    match = re.search(rf"{_BEFORE}{pattern}{_AFTER}", text)
    return match.start() if match else -1
