"""Fast paths change nothing: an engine with every memo and shortcut off (``Engine(fast_paths=False)``) gives the
same results, errors, events and stored state as one with them on, on the memory store and on SQLite (and on
PostgreSQL: ``backends/test_postgres_fast_paths.py``); and the pure core keeps no state of its own between
commands (issue 14: caches owned by the engine)."""

from __future__ import annotations

import enum
import importlib
import pkgutil
import types
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import threading_engine
from threading_engine import (
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    Participant,
    SequentialIds,
    ThreadingError,
    ThreadingModel,
)
from threading_engine.backends.memory import MemoryRepository
from threading_engine.backends.sqlite import SQLiteRepository
from threading_engine.commands import (
    ArchiveThread,
    CloseThread,
    CloseTicket,
    Command,
    PublishMessage,
    ReopenThread,
    Reply,
    RestoreThread,
    StartConversation,
    UpdateChannelAccount,
)
from threading_engine.repository import Repository
from threading_engine.testing.conformance import snapshot

# Spellings of a few people: canonical ones, ones only the full checks canonicalize (V4), one built with a
# plain-string type, and one that is no identifier at all. The fast path must treat each as the full path does.
_PHONE = IdentifierType.HS_PHONE_NUMBER
_EMAIL = IdentifierType.HS_EMAIL_ADDRESS
PEOPLE = (
    Participant(DeliveryIdentifier.of(_PHONE, "+442079460001")),
    Participant(DeliveryIdentifier(_PHONE, "+44 20 7946 0001")),
    Participant(DeliveryIdentifier.of(_PHONE, "+442079460002"), "Bo"),
    Participant(DeliveryIdentifier(_EMAIL, " Ana@Example.COM ")),
    Participant(DeliveryIdentifier.of(_EMAIL, "ana@example.com")),
    Participant(DeliveryIdentifier("HS_PHONE_NUMBER", "+442079460003")),  # type: ignore[arg-type]
    Participant(DeliveryIdentifier(_PHONE, "not a number")),
    Participant(DeliveryIdentifier.of(_PHONE, "+15550000000")),  # the accounts' own identifier
)
OWN = PEOPLE[-1].delivery_identifier
JUMPS = (timedelta(0), timedelta(minutes=7), timedelta(hours=23, minutes=59), timedelta(hours=24), -timedelta(hours=1))
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Ids the setup makes with SequentialIds: one channel and account of each threading model.
BY_KEY, BY_INTEGRATION = "account-1", "account-2"
ACCOUNTS = st.sampled_from([BY_KEY, BY_KEY, BY_KEY, BY_INTEGRATION, BY_INTEGRATION, "account-9"])
THREADS = st.integers(1, 3).map(lambda n: f"thread-{n}")
TEXTS = st.sampled_from(["hi", "again", "", " \u200b "])


def _people(min_size: int) -> st.SearchStrategy[tuple[Participant, ...]]:
    # Mostly people who can be written to, so that most messages find or make a thread.
    person = st.sampled_from(PEOPLE[:5]) | st.sampled_from(PEOPLE)
    return st.lists(person, min_size=min_size, max_size=2).map(tuple)


publishes = st.builds(
    PublishMessage,
    ACCOUNTS,
    st.sampled_from(list(Direction)),
    _people(1),
    TEXTS,
    _people(0),
    st.none() | st.sampled_from([START, START + timedelta(days=2)]),
    st.none() | st.sampled_from(["ext-1", "ext-2"]),
    st.none() | st.sampled_from(["idem-1", "idem-2"]),
)
thread_actions = st.builds(
    lambda kind, thread_id: kind(thread_id),
    st.sampled_from([CloseThread, ArchiveThread, RestoreThread, ReopenThread, CloseTicket]),
    THREADS,
)
commands: st.SearchStrategy[Command] = st.one_of(
    publishes,
    publishes,
    publishes,
    thread_actions,
    st.builds(Reply, THREADS, TEXTS),
    st.builds(StartConversation, ACCOUNTS, _people(1), TEXTS),
)
# Now and then an account is refused messages (V5), and later accepts them again.
authorizations = st.builds(UpdateChannelAccount, ACCOUNTS, authorized=st.booleans())
# A step: one command, a batch of them (``execute_many``), or the clock moving on.
step = st.one_of(
    commands.map(lambda command: ("one", command)),
    commands.map(lambda command: ("one", command)),
    authorizations.map(lambda command: ("one", command)),
    st.lists(commands, min_size=1, max_size=3).map(lambda batch: ("many", batch)),
    st.sampled_from(JUMPS).map(lambda jump: ("wait", jump)),
)
# A message, its thread closed, and the message (under no idempotency id: it would be a duplicate) sent again a
# while later: R4's and I1's reopening, which chance alone seldom reaches.
close_then_write = st.builds(
    lambda publish, jump: [
        ("one", publish),
        ("close last", None),
        ("wait", jump),
        ("one", attrs.evolve(publish, integration_idempotency_id=None)),
    ],
    publishes,
    st.sampled_from(JUMPS),
)
steps = st.lists(step.map(lambda one: [one]) | close_then_write, max_size=20).map(
    lambda groups: [one for group in groups for one in group]
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _outcome(engine: Engine, command: Command) -> Any:
    """What the engine returned for ``command``, or the error it raised, in a form two runs can be compared by."""
    try:
        return engine.execute(command)
    except ThreadingError as error:
        return _error(error)


def _error(error: ThreadingError) -> tuple[object, ...]:
    return (type(error), str(error), error.field, repr(error.value), error.rule)


def run_script(
    repository: Repository, fast_paths: bool, script: list[tuple[str, Any]], prefix: str = ""
) -> tuple[list[Any], dict[str, Any]]:
    """Set up a channel and account of each threading model, then run ``script``; ids start with ``prefix``."""
    clock = Clock()
    sequential = SequentialIds()
    engine = Engine(repository, clock=clock, ids=lambda kind: prefix + sequential(kind), fast_paths=fast_paths)
    seen: list[Any] = []
    for model, creates_tickets in (
        (ThreadingModel.DELIVERY_IDENTIFIER, True),
        (ThreadingModel.INTEGRATION_THREAD_ID, False),
    ):
        capabilities = Capabilities(
            delivery_identifier_types=(_PHONE, _EMAIL),
            threading_model=model,
            allow_outgoing_messages=True,
            allow_conversation_start=True,
        )
        channel_id = engine.create_channel("channel", capabilities).channel_id
        assert channel_id is not None
        engine.create_channel_account(
            channel_id, name="inbox", inbox_id="inbox", delivery_identifier=OWN, creates_tickets=creates_tickets
        )
    last_thread = "thread-1"
    for kind, value in script:
        if kind == "wait":
            clock.now += value
        elif kind == "close last":
            seen.append(_outcome(engine, CloseThread(last_thread)))
        elif kind == "one":
            seen.append(_outcome(engine, value))
            last_thread = getattr(seen[-1], "thread_id", None) or last_thread
        else:
            results = engine.execute_many(value)
            seen.append([_error(r) if isinstance(r, ThreadingError) else r for r in results])
    return seen, snapshot(repository)


STORES: dict[str, Callable[[], Repository]] = {"memory": MemoryRepository, "sqlite": SQLiteRepository}


@pytest.mark.parametrize("store", list(STORES))
@given(script=steps)
def test_fast_paths_on_and_off_give_the_same_results_events_and_stored_state(
    store: str, script: list[tuple[str, Any]]
) -> None:
    """Every rule the fast paths shortcut (V4's canonical identifiers, R0's keys, R4's routing, D1's duplicates,
    R3's replies) decides the same with them off; so do the errors, to their text, field, value and rule."""
    on, off = STORES[store](), STORES[store]()
    try:
        assert run_script(on, True, script) == run_script(off, False, script)
    finally:
        on.close()
        off.close()


def test_fast_paths_must_be_a_boolean() -> None:
    with pytest.raises(ThreadingError) as raised:
        Engine(fast_paths="no")  # type: ignore[arg-type]
    assert (raised.value.field, raised.value.value) == ("fast_paths", "no")


# -- no state in the pure core ------------------------------------------------------------------------------

# The store backends and the test helpers keep what they must; everything else decides without state.
_NOT_CORE = (
    "threading_engine.backends",
    "threading_engine.testing",
    "threading_engine.cli",
    "threading_engine.__main__",
)


def _core_modules() -> Iterator[types.ModuleType]:
    for info in pkgutil.walk_packages(threading_engine.__path__, "threading_engine."):
        if not info.name.startswith(_NOT_CORE):
            yield importlib.import_module(info.name)


def _state(module: types.ModuleType) -> dict[str, object]:
    """What a module holds that could change: its mutable globals (copied) and any function-level cache."""
    state: dict[str, object] = {}
    for name, value in vars(module).items():
        if isinstance(value, types.ModuleType | type | enum.Enum) or name.startswith("__"):
            continue
        if getattr(value, "__module__", module.__name__) != module.__name__:
            continue  # imported from elsewhere: the standard library's caches are not the engine's
        if hasattr(value, "cache_info"):  # an lru_cache: state by definition
            state[name] = value.cache_info()
        elif isinstance(value, dict | list | set | bytearray):
            state[name] = repr(value)
        elif hasattr(value, "__dict__") and not callable(value) and not attrs.has(type(value)):
            state[name] = repr(vars(value))
    return state


def test_no_module_of_the_pure_core_holds_a_cache() -> None:
    caches = [
        f"{module.__name__}.{name}"
        for module in _core_modules()
        for name, value in vars(module).items()
        if hasattr(value, "cache_info") and getattr(value, "__module__", None) == module.__name__
    ]
    assert caches == []


def test_the_pure_core_holds_no_state_after_a_run() -> None:
    """A run of every kind of command leaves each core module's globals as they were: what an engine learns
    it keeps in its own memos."""
    modules = list(_core_modules())
    before = {module.__name__: _state(module) for module in modules}
    _run_everything_new(MemoryRepository(), in_a_batch_too=True)
    assert {module.__name__: _state(module) for module in modules} == before


def _run_everything_new(repository: Repository, *, in_a_batch_too: bool) -> None:
    """Every kind of command, with ids and people no earlier test used (so that a module that remembered
    anything would now hold more), one by one and, if asked, again in one batch an hour later."""
    prefix = f"{uuid.uuid4().hex}-"
    number = f"{uuid.uuid4().int % 10**7:07d}"
    customer = Participant(DeliveryIdentifier(_PHONE, f"+44 20 {number}"))
    other = Participant(DeliveryIdentifier(_EMAIL, f"Ana.{number}@Example.com"))
    script: list[tuple[str, Any]] = [("one", command) for command in _a_bit_of_everything(prefix, customer, other)]
    if in_a_batch_too:
        script += [("wait", timedelta(hours=1)), ("many", [command for _, command in script])]
    seen, _ = run_script(repository, True, script, prefix)
    accepted = seen[:-1] if in_a_batch_too else seen  # the batch repeats ids and idempotency ids: not all accepted
    assert not any(isinstance(outcome, tuple) for outcome in accepted), "every command was accepted"


def _library_modules() -> Iterator[types.ModuleType]:
    """Every module of the library but its command line and test helpers, the backends included."""
    for info in pkgutil.walk_packages(threading_engine.__path__, "threading_engine."):
        if not info.name.startswith(("threading_engine.testing", "threading_engine.__main__")):
            yield importlib.import_module(info.name)


def test_no_module_of_the_library_holds_a_cache_and_the_sql_stores_keep_theirs_per_store() -> None:
    """The backends' decoded documents and remembered views belong to each store (issue: caches owned by an
    engine or a store, not by modules): after a run on SQLite, no module's globals changed."""
    modules = list(_library_modules())
    assert [
        f"{module.__name__}.{name}"
        for module in modules
        for name, value in vars(module).items()
        if hasattr(value, "cache_info") and getattr(value, "__module__", None) == module.__name__
    ] == []
    before = {module.__name__: _state(module) for module in modules}
    _run_everything_new(SQLiteRepository(":memory:"), in_a_batch_too=False)
    assert {module.__name__: _state(module) for module in modules} == before


def _a_bit_of_everything(prefix: str, customer: Participant, other: Participant) -> list[Command]:
    by_key, by_integration, thread = f"{prefix}{BY_KEY}", f"{prefix}{BY_INTEGRATION}", f"{prefix}thread-1"
    return [
        PublishMessage(by_key, Direction.INCOMING, (customer,), "hi"),
        PublishMessage(by_key, Direction.INCOMING, (customer,), "again", integration_idempotency_id="idem-1"),
        PublishMessage(by_integration, Direction.INCOMING, (other,), "hi", integration_thread_id="ext-1"),
        Reply(thread, "hello"),
        StartConversation(by_key, (other,), "news"),
        CloseThread(thread),
        PublishMessage(by_key, Direction.INCOMING, (customer,), "back"),
    ]
