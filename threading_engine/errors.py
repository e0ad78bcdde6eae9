"""The errors the engine raises: one base class, one subclass per code in SPEC section 7.

Every error carries its ``code`` (the string the replay output and an HTTP layer use), and where it applies
the offending ``field``, its ``value`` and the ``rule`` it breaks. Each subclass also derives from the builtin
exception that matches its meaning, so ``except ValueError`` catches a validation error as users expect.
"""

from __future__ import annotations

from typing import ClassVar


class ThreadingError(Exception):
    """Base of every error the engine raises on purpose."""

    code: ClassVar[str] = "THREADING_ERROR"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: object = None,
        rule: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value
        self.rule = rule

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, field={self.field!r}, rule={self.rule!r})"


class ValidationError(ThreadingError, ValueError):
    """Input that breaks a V rule (or R0's non-empty key); the store is left unchanged."""

    code = "VALIDATION_ERROR"


class NotFoundError(ThreadingError, LookupError):
    """A channel, account, thread, ticket or message that does not exist.

    ``field`` names the id, and ``rule`` the rule of the command that needed what is missing (V5 for a publish,
    R3 for a reply or a conversation start, V2 and V3 for account and channel commands, R6-R8 for thread
    commands); a read cites none. A value that cannot be an id names nothing too, and the message says why.
    """

    code = "NOT_FOUND"


class NotAllowedError(ThreadingError, PermissionError):
    """A capability or the account's authorization forbids the command."""

    code = "NOT_ALLOWED"


class ThreadNotOpenError(ThreadingError):
    """An outgoing message aimed at a thread that is closed or archived (R3, I1)."""

    code = "THREAD_NOT_OPEN"


class KeyConflictError(ThreadingError):
    """Reopening or restoring would give a key two live threads (R8, I1)."""

    code = "KEY_CONFLICT"


class IdempotencyConflictError(ThreadingError):
    """An idempotency id reused with a different payload (D2)."""

    code = "IDEMPOTENCY_CONFLICT"


class StorageError(ThreadingError):
    """The store failed, or kept losing races after every retry; nothing was written.

    When a value caused it, it names the value: an id already taken (U0 of ``repository.py``) carries
    ``field`` (``messageId`` or ``eventId``), the id as ``value`` and ``rule`` ``"U0"``; giving up after lost
    races carries the last race's rule (U1-U4). A failure of the store itself (a lost connection, a full disk,
    a dropped table) carries none.
    """

    code = "STORAGE_ERROR"


class WriteConflict(StorageError):  # noqa: N818 - a condition the engine retries, not a failure
    """A backend lost a race with a concurrent writer; the engine retries the whole command.

    Backends raise it when a uniqueness rule that concurrent writers can break (U1-U4 of ``repository.py``,
    named by ``rule``) rejects a commit, or when the database reports a serialization failure, a deadlock or a
    lock timeout; never for any other refused row, which retrying could not help. The engine never lets it
    escape while retries remain.
    """

    code = "WRITE_CONFLICT"


class StaleView(WriteConflict):
    """A view a backend remembered between commands turned out stale, or a rejection decided from one is still
    to be confirmed: nothing was written, and the engine sends the command again at once, without back-off
    (the backend then reads the view afresh)."""


class UnseenDuplicate(StaleView):
    """A save found the idempotency id of its message taken, by a message the view it was decided on left out
    (a view loaded with ``load_deferring_duplicate``, see ``repository.DeferringUnitOfWork``): nothing of that
    save was written, and the engine decides the command again, in the same unit, on a view that shows it."""
