"""The refusals of the flags service: one message per field, and the HTTP status a route answers with."""

from __future__ import annotations

from nous.flags.models import Flag, FlagVersion


class FlagError(ValueError):
    """A change that cannot be made; `errors` has one message per field, `status` the HTTP status."""

    def __init__(self, message: str, errors: dict[str, str] | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.status = status

    def __str__(self) -> str:
        if not self.errors:
            return self.message
        return self.message + " " + "; ".join(f"{k}: {v}" for k, v in self.errors.items())


class FlagNotFound(FlagError):
    def __init__(self, key: str) -> None:
        super().__init__(f"no flag named {key!r}", status=404)


class FlagConflict(FlagError):
    """The flag is not what the caller saw: `current` is the flag as it is now (when known) and
    `changes` the versions stored since the one the caller saw, oldest first."""

    def __init__(self, message: str, current: Flag | None = None, changes: list[FlagVersion] | None = None) -> None:
        super().__init__(message, {"version": "changed since you opened it"} if current is not None else None,
                         status=409)
        self.current = current
        self.changes = changes or []
