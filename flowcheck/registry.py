"""Named things of one kind (statistics, flows, lens variants, engines, tasks, adapters,
routes, layouts): one lookup with one error, which names the kind, suggests the closest
name and lists the valid ones.

``Registry`` is a read-only mapping, so ``name in REG``, ``REG[name]``, ``list(REG)`` work as
with the dict it replaces; ``REG.get_or_raise(name)`` (and ``REG[name]``) raise
``UnknownNameError`` for an unknown name.
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping

from .errors import UsageError


class UnknownNameError(UsageError, KeyError):
    """A name that is not registered (also a KeyError, as a dict lookup would raise)."""

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return str(self.args[0]) if self.args else ""


def did_you_mean(value, options) -> str:
    """' (did you mean 'x'?)' for the closest option, or ''."""
    close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Registry(Mapping):
    def __init__(self, kind: str, items=None, *, plural: str | None = None, hint: str = ""):
        self.kind, self.plural, self.hint = kind, plural or f"{kind}s", hint
        self._items: dict = {}
        for name, value in (items.items() if isinstance(items, Mapping) else
                            ((n, n) for n in (items or ()))):
            self.register(name, value)

    def register(self, name: str, value=None):
        """Add ``name``; used as ``@REG.register("name")`` on a function or class, too."""
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        if value is None:
            def decorate(obj):
                self._items[name] = obj
                return obj
            return decorate
        self._items[name] = value
        return value

    def unregister(self, name: str) -> None:
        """Remove ``name`` (a plugin or test that registered it for a while)."""
        self.get_or_raise(name)
        del self._items[name]

    def names(self) -> tuple[str, ...]:
        return tuple(self._items)

    def unknown(self, name) -> UnknownNameError:
        hint = f"; {self.hint}" if self.hint else ""
        return UnknownNameError(f"unknown {self.kind} {name!r}{did_you_mean(name, self._items)}; "
                                f"valid {self.plural}: {', '.join(self._items)}{hint}")

    def get_or_raise(self, name):
        if name not in self:
            raise self.unknown(name)
        return self._items[name]

    def check(self, names) -> list:
        """The names, all registered (else the error for the first unknown one)."""
        names = list(names)
        for n in names:
            self.get_or_raise(n)
        return names

    def __getitem__(self, name):
        return self.get_or_raise(name)

    def __contains__(self, name) -> bool:
        try:
            return name in self._items
        except TypeError:  # an unhashable value (a list from a spec) is no registered name
            return False

    def __iter__(self):
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._items)})"
