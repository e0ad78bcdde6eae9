"""The contract bound of ``benchmarks.instructions`` builds what an append builds: the same values, with the
same fields, as the engine's own append of the same command (ids aside: each draws its own).

If the engine's values gained a field or the bound lost one, the bound would no longer be the cost of the
contracts, and the instruction counts set beside it would compare unlike things.
"""

from __future__ import annotations

import attrs

from benchmarks.contract_values import ContractValues
from benchmarks.scenarios import make_scenario
from benchmarks.workload import new_fixture
from threading_engine.backends.memory import MemoryRepository
from threading_engine.commands import PublishMessage
from threading_engine.events import MessageAppended
from threading_engine.rules import message_key


def test_the_bound_builds_the_values_the_engine_builds_for_an_append() -> None:
    fixture = new_fixture(MemoryRepository())
    scenario = make_scenario("append", open_threads=5)
    scenario.prepare(fixture)
    now = fixture.clock.next_round()
    (command,), _ = scenario.commands(fixture, 1)
    assert isinstance(command, PublishMessage)
    engine = fixture.engine
    account = engine.channel_account(fixture.account_id)
    key = message_key(account, command.senders)
    (thread,) = [t for t in engine.repository.list_threads(fixture.account_id) if t.key == key]
    decision, result = ContractValues(engine.channel(fixture.channel_id), account, now).append((command, key, thread))

    stored = engine.execute(command)

    # The engine's ids come from its own counter; everything else must match.
    message_id = stored.message_id
    assert message_id is not None and result.message_id is not None
    assert attrs.evolve(result, message_id=message_id, events=()) == attrs.evolve(stored, events=())
    (own_record,), (engine_record,) = result.events, stored.events
    assert own_record.timestamp == engine_record.timestamp
    assert isinstance(own_record.event, MessageAppended)
    assert attrs.evolve(own_record.event, message_id=message_id) == engine_record.event
    assert decision.changes.threads == (engine.thread(thread.id),)
    assert decision.changes.message is not None
    assert attrs.evolve(decision.changes.message, id=message_id) == engine.message(message_id)
