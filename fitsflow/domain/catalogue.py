"""The service catalogue's shape: which services depend on which, and so when two
changes touch related services (the same one, or one depending on the other, at any
depth). Pure: the catalogue is handed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Catalogue:
    names: Mapping[int, str]  # id → name
    depends_on: Mapping[int, frozenset[int]]  # id → the ids it depends on directly

    @cached_property
    def by_name(self) -> dict[str, int]:
        return {name.lower(): sid for sid, name in self.names.items()}

    def ids(self, names: Iterable[str]) -> set[int]:
        return {self.by_name[n.lower()] for n in names if n.lower() in self.by_name}

    def below(self, sid: int) -> frozenset[int]:
        """Everything ``sid`` depends on, directly or through others."""
        return self._closure.get(sid, frozenset())

    @cached_property
    def _closure(self) -> dict[int, frozenset[int]]:
        return {sid: frozenset(self._walk(sid)) for sid in self.names}

    @cached_property
    def _above(self) -> dict[int, frozenset[int]]:
        """Everything that depends on each service, directly or through others."""
        above: dict[int, set[int]] = {sid: set() for sid in self.names}
        for sid, below in self._closure.items():
            for b in below:
                above.setdefault(b, set()).add(sid)
        return {sid: frozenset(ids) for sid, ids in above.items()}

    def reach(self, names: Iterable[str]) -> frozenset[int]:
        """The services related to any of ``names``: themselves, what they depend on and what
        depends on them, at any depth. Two lists of services are related (``related``) exactly
        when one's ids meet the other's reach; a sweep over many lists computes each reach once."""
        out: set[int] = set()
        for sid in self.ids(names):
            out.add(sid)
            out |= self.below(sid)
            out |= self._above.get(sid, frozenset())
        return frozenset(out)

    def would_cycle(self, sid: int, depends_on: Iterable[int]) -> bool:
        """Whether making ``sid`` depend on these would make a service depend on itself."""
        return any(d == sid or sid in self._walk(d) for d in depends_on)

    def _walk(self, sid: int) -> set[int]:
        seen: set[int] = set()
        todo = list(self.depends_on.get(sid, ()))
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(self.depends_on.get(current, ()))
        return seen

    def related(self, a: Iterable[str], b: Iterable[str]) -> list[tuple[str, str]]:
        """Pairs (service of a, service of b) that are the same or where one depends on the
        other at any depth."""
        pairs = []
        b_ids = self.ids(b)
        for x in self.ids(a):
            x_below = self.below(x)
            for y in b_ids:
                if x == y or y in x_below or x in self.below(y):
                    pairs.append((self.names[x], self.names[y]))
        return sorted(pairs)
