"""Who the episodes are about: guests, hosts, and people a chapter talks about, with aliases.

Names come from the episodes themselves (host, guests, person entities, the people each
chapter mentions); aliases come from TOML files, the bundled `seeds/aliases.toml` and the
user's own, so "杨立昆", "勒昆" and "LeCun" all resolve to Yann LeCun.

    [aliases]
    "Yann LeCun" = ["LeCun", "杨立昆", "勒昆"]
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from store.episode import Episode
from store.language import has_cjk


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
        for person in self.people:
            for key in [person.name, *person.aliases]:
                self._by_key.setdefault(_key(key), person)

    @classmethod
    def build(cls, episodes: list[Episode], alias_files: list[Path] = ()) -> PeopleIndex:
        aliases = load_aliases(alias_files)
        people: dict[str, Person] = {}

        def add(name: str, episode_id: str, role: str, description: str = "") -> None:
            person = people.setdefault(name, Person(name, aliases=_default_aliases(name) + aliases.get(name, [])))
            if role != "mentioned" or episode_id not in person.roles:
                person.roles[episode_id] = role
            person.description = person.description or description

        for episode in episodes:
            descriptions = {e.name: e.description for e in episode.entities}
            for name in episode.guests:
                add(name, episode.id, "guest", descriptions.get(name, ""))
            if episode.host:
                add(episode.host, episode.id, "host", descriptions.get(episode.host, ""))
            for name in episode.people:
                add(name, episode.id, "mentioned", descriptions.get(name, ""))
        for name, extra in aliases.items():  # people known only from the alias file
            people.setdefault(name, Person(name, aliases=_default_aliases(name) + extra))
        return cls(list(people.values()))

    def resolve(self, name: str) -> Person | None:
        return self._by_key.get(_key(name))

    def mentioned_in(self, text: str) -> list[Person]:
        """People named in free text, by any alias, in order of first mention."""
        found: dict[str, tuple[int, Person]] = {}
        for key, person in self._by_key.items():
            position = _find(text, key)
            if position >= 0 and (person.name not in found or position < found[person.name][0]):
                found[person.name] = (position, person)
        return [p for _, p in sorted(found.values(), key=lambda item: item[0])]


    def without_names(self, text: str) -> str:
        """The question's topic: the text with every known name and alias taken out."""
        for key in sorted(self._by_key, key=len, reverse=True):
            pattern = re.escape(key) if has_cjk(key) else rf"(?<![\w]){re.escape(key)}(?:['’]s)?(?![\w])"
            text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
        return " ".join(text.split())


def load_aliases(paths: list[Path]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for path in paths:
        if not Path(path).exists():
            continue
        try:
            table = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("aliases", {})
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{path}: not valid TOML ({err})") from None
        for name, names in table.items():
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ValueError(f'{path}: aliases for "{name}" must be a list of strings')
            merged.setdefault(name, []).extend(n for n in names if n not in merged.get(name, []))
    return merged


def _default_aliases(name: str) -> list[str]:
    """A multi-word name is also known by its last name ('LeCun') and first name ('Oriol')."""
    parts = name.split()
    return [p for p in (parts[-1], parts[0]) if len(p) > 2] if len(parts) > 1 else []


def _key(name: str) -> str:
    return " ".join(name.lower().split())


def _find(text: str, key: str) -> int:
    if has_cjk(key):
        return text.find(key)
    match = re.search(rf"(?<![\w]){re.escape(key)}(?![\w])", text.lower())
    return match.start() if match else -1
