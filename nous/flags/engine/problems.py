"""Where a flag definition breaks a rule, in words, with the path to the offending field.

The compile pass takes a `Problems` and writes each problem where it checks the rule, so the rule that
builds a check and the message that refuses a definition are one piece of code. `Engine.load` compiles
with a `Problems` it then drops (a stored flag that breaks a rule still evaluates, to off where it
cannot be understood); `validate_feature` returns the words.
"""

from __future__ import annotations

from collections.abc import Mapping


class Problems:
    """A list of "path: message" lines shared by every `at()` view of it."""

    __slots__ = ("found", "notes", "path")

    def __init__(self, path: str = "", found: list[str] | None = None, notes: list[str] | None = None) -> None:
        self.path = path
        self.found: list[str] = [] if found is None else found
        self.notes: list[str] = [] if notes is None else notes  # valid, but not what it seems to say

    def _join(self, key: str) -> str:
        if not key:
            return self.path
        if not self.path or key.startswith("["):
            return self.path + key
        return f"{self.path}.{key}"

    def at(self, key: str) -> Problems:
        """The same list, with `key` ("constraints[0]", "parameters") added to the path."""
        return Problems(self._join(key), self.found, self.notes)

    def add(self, key: str, message: str) -> None:
        """`message` about the field `key` under this path ("" for the object at the path itself)."""
        self.found.append(f"{self._join(key)}: {message}")

    def note(self, message: str) -> None:
        """Something valid that does not do what it seems to: "path: message" in `notes`."""
        self.notes.append(f"{self.path}: {message}")

    def boolean(self, obj: Mapping, key: str) -> bool:
        """A flag that must be true or false when present; True only for a real `true`."""
        value = obj.get(key)
        if value is not None and not isinstance(value, bool):
            self.add(key, "must be true or false")
        return value is True
