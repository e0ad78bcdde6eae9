"""The statements that write what a unit of work saved: a few for any number of saves, queued on its open pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import psycopg

from ...decisions import Changes
from ...model import Message
from ...repository import PendingEvent
from .. import rows
from .schema import Statements

_Row = tuple[Any, ...]
Cursor = psycopg.Cursor[tuple[Any, ...]]


class SentWrites(NamedTuple):
    """The cursors whose answers the unit reads once the pipeline is synced."""

    # The thread and ticket writes, in the order sent: each returns its rows' ids and new versions.
    returned: list[tuple[str, Cursor]]
    # The events' insert, which returns each event's sequence, and the events it inserted (None: no events).
    inserted: tuple[Cursor, list[PendingEvent]] | None


def send_writes(
    connection: psycopg.Connection[tuple[Any, ...]],
    statements: Statements,
    outbox_lock: str,
    saved: Sequence[tuple[Changes, Sequence[PendingEvent]]],
) -> SentWrites:
    """Queue the writes and events of ``saved`` on the open pipeline (the caller syncs it): each table's rows in
    the order saved, several rows in one statement, one array per column, and the events last, in one statement."""
    changes_saved = [changes for changes, _ in saved]
    events = [event for _, saved_events in saved for event in saved_events]
    for changes in changes_saved:  # set-up commands only: rare, and at most one of each per save
        if changes.channel is not None:
            channel = changes.channel
            connection.execute(statements.UPSERT_CHANNEL, (channel.id, rows.channel_json(channel)), prepare=True)
        if changes.account is not None:
            account, identifier = changes.account, changes.account.delivery_identifier
            columns = (account.id, account.channel_id, identifier.type.value, identifier.value)
            connection.execute(statements.UPSERT_ACCOUNT, (*columns, rows.account_json(account)), prepare=True)
        if changes.staging_token is not None:  # T1
            token = changes.staging_token
            token_row = (token.id, token.channel_id, rows.staging_token_json(token))
            connection.execute(statements.UPSERT_STAGING_TOKEN, token_row, prepare=True)
    returned: list[tuple[str, Cursor]] = []
    threads = [rows.thread_row(thread) for changes in changes_saved for thread in changes.threads]
    for run in _runs_of_distinct_ids(threads):
        returned.append(("thread", _write_rows(connection, statements.UPSERT_THREAD, statements.UPSERT_THREADS, run)))
    tickets = [(t.id, t.thread_id, t.status.value) for changes in changes_saved for t in changes.tickets]
    for run in _runs_of_distinct_ids(tickets):
        returned.append(("ticket", _write_rows(connection, statements.UPSERT_TICKET, statements.UPSERT_TICKETS, run)))
    messages = [_message_row(changes.message) for changes in changes_saved if changes.message is not None]
    if messages:
        _write_rows(connection, statements.INSERT_MESSAGE, statements.INSERT_MESSAGES, messages)
    for changes in changes_saved:  # statuses (S1): rare
        if changes.changed_message is not None:
            changed = changes.changed_message
            connection.execute(statements.CHANGE_MESSAGE, (rows.message_json(changed), changed.id), prepare=True)
    if not events:
        return SentWrites(returned, None)
    inserted = connection.cursor()
    if len(events) == 1:
        pending = events[0]
        one = {"outbox": outbox_lock, "event_ids": pending.event_id, "data": rows.event_json(pending)}
        inserted.execute(statements.INSERT_EVENT, one, prepare=True)
    else:
        ids, data = [p.event_id for p in events], [rows.event_json(p) for p in events]
        many = {"outbox": outbox_lock, "event_ids": ids, "data": data}
        inserted.execute(statements.INSERT_EVENTS, many, prepare=True)
    return SentWrites(returned, (inserted, events))


def _write_rows(
    connection: psycopg.Connection[tuple[Any, ...]], one: str, many: str, found: Sequence[Sequence[Any]]
) -> Cursor:
    """Write the rows ``found``: with ``one`` for a single row, else with ``many``, one array per column."""
    if len(found) == 1:
        return connection.execute(one, found[0], prepare=True)
    width = len(found[0])
    return connection.execute(many, [[row[i] for row in found] for i in range(width)], prepare=True)


def _runs_of_distinct_ids(found: list[_Row]) -> list[list[_Row]]:
    """``found`` (rows whose first column is an id) cut, in order, into runs in which no id repeats."""
    runs: list[list[_Row]] = []
    ids: set[str] = set()
    for row in found:
        if not runs or row[0] in ids:
            runs.append([])
            ids = set()
        runs[-1].append(row)
        ids.add(row[0])
    return runs


def _message_row(message: Message) -> _Row:
    return (
        message.id,
        message.thread_id,
        message.channel_account_id,
        message.integration_idempotency_id,
        rows.message_json(message),
    )
