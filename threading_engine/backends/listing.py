"""The paged reads' filters (``reads.AccountFilter``, ``reads.ThreadFilter``), once as predicates for the memory
store and once as SQL for both SQL stores, so that every store holds the same items in the same order.

The SQL is built for the filters given, so each statement names only the columns it filters on: the
accounts' ``(portal_id, channel_id, seq)`` and ``(channel_id, seq)`` indexes, the threads' ``(account_id, seq)``
and the messages' ``(thread_id, seq)`` serve them. The cursor is an item's id: the page starts past its ``seq``.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..model import ChannelAccount, Thread
from ..reads import AccountFilter, ThreadFilter
from . import rows


def account_held(where: AccountFilter, account: ChannelAccount) -> bool:
    identifier = account.delivery_identifier
    return (
        (not where.channel_ids or account.channel_id in where.channel_ids)
        and (where.portal_id is None or account.portal_id == where.portal_id)
        and (where.archived is None or account.archived is where.archived)
        and (not where.identifier_types or identifier.type in where.identifier_types)
        and (not where.identifier_values or identifier.value in where.identifier_values)
        and (not where.inbox_ids or account.inbox_id in where.inbox_ids)
    )


def thread_held(where: ThreadFilter, thread: Thread, account: ChannelAccount) -> bool:
    after = where.latest_message_after
    return (
        (where.portal_id is None or account.portal_id == where.portal_id)
        and (where.channel_account_id is None or thread.channel_account_id == where.channel_account_id)
        and (where.status is None or thread.status is where.status)
        and (where.archived is None or thread.archived is where.archived)
        and (not where.inbox_ids or account.inbox_id in where.inbox_ids)
        and (where.key is None or thread.key == where.key)
        and (where.ticket_id is None or thread.ticket_id == where.ticket_id)
        and (after is None or (thread.latest_message_at is not None and thread.latest_message_at > after))
    )


@attrs.frozen
class Dialect:
    """How one SQL store writes a parameter, a list of them, and its tables' names."""

    prefix: str  # the schema and a dot, or nothing
    parameter: str  # ``?`` or ``%s``

    def one_of(self, column: str, values: tuple[str, ...], parameters: list[Any]) -> str:
        parameters.extend(values)
        return f"{column} IN ({', '.join([self.parameter] * len(values))})"


def _cursor(
    dialect: Dialect,
    table: str,
    alias: str,
    after: str | None,
    newest_first: bool,
    parameters: list[Any],
    scope: str = "",
) -> list[str]:
    if after is None:
        return []
    parameters.append(after)
    order = "<" if newest_first else ">"
    return [f"{alias}.seq {order} (SELECT seq FROM {dialect.prefix}{table} WHERE id = {dialect.parameter}{scope})"]


def accounts_sql(
    dialect: Dialect, where: AccountFilter, after: str | None, limit: int
) -> tuple[str, list[Any], str, list[Any]]:
    """The page's statement and its parameters, and the total's."""
    conditions: list[str] = []
    parameters: list[Any] = []
    p = dialect.parameter
    if where.channel_ids:
        conditions.append(dialect.one_of("a.channel_id", where.channel_ids, parameters))
    if where.portal_id is not None:
        conditions.append(f"a.portal_id = {p}")
        parameters.append(where.portal_id)
    if where.archived is not None:
        conditions.append(f"a.archived = {p}")
        parameters.append(int(where.archived))
    if where.identifier_types:
        conditions.append(
            dialect.one_of("a.identifier_type", tuple(t.value for t in where.identifier_types), parameters)
        )
    if where.identifier_values:
        conditions.append(dialect.one_of("a.identifier_value", where.identifier_values, parameters))
    if where.inbox_ids:
        conditions.append(dialect.one_of("a.inbox_id", where.inbox_ids, parameters))
    table = f"{dialect.prefix}accounts AS a"
    total_sql = f"SELECT count(*) FROM {table}{_where(conditions)}"
    total_parameters = list(parameters)
    conditions += _cursor(dialect, "accounts", "a", after, False, parameters)
    parameters.append(limit + 1)
    return (
        f"SELECT a.data FROM {table}{_where(conditions)} ORDER BY a.seq LIMIT {p}",
        parameters,
        total_sql,
        total_parameters,
    )


def threads_sql(
    dialect: Dialect, where: ThreadFilter, after: str | None, limit: int, newest_first: bool
) -> tuple[str, list[Any]]:
    conditions: list[str] = []
    parameters: list[Any] = []
    p = dialect.parameter
    joined = where.portal_id is not None or bool(where.inbox_ids)
    if where.portal_id is not None:
        conditions.append(f"a.portal_id = {p}")
        parameters.append(where.portal_id)
    if where.inbox_ids:
        conditions.append(dialect.one_of("a.inbox_id", where.inbox_ids, parameters))
    for column, value in (
        ("t.account_id", where.channel_account_id),
        ("t.status", None if where.status is None else where.status.value),
        ("t.archived", None if where.archived is None else int(where.archived)),
        ("t.key", where.key),
        ("t.ticket_id", where.ticket_id),
    ):
        if value is not None:
            conditions.append(f"{column} = {p}")
            parameters.append(value)
    if where.latest_message_after is not None:
        conditions.append(f"t.latest_message_at > {p}")
        parameters.append(rows.micros(where.latest_message_after))
    conditions += _cursor(dialect, "threads", "t", after, newest_first, parameters)
    parameters.append(limit + 1)
    columns = ", ".join(f"t.{name.strip()}" for name in rows.THREAD_COLUMNS.split(","))
    table = f"{dialect.prefix}threads AS t"
    if joined:
        table += f" JOIN {dialect.prefix}accounts AS a ON a.id = t.account_id"
    order = "DESC" if newest_first else ""
    return f"SELECT {columns} FROM {table}{_where(conditions)} ORDER BY t.seq {order} LIMIT {p}", parameters


def messages_sql(
    dialect: Dialect, thread_id: str, after: str | None, limit: int, newest_first: bool
) -> tuple[str, list[Any]]:
    p = dialect.parameter
    parameters: list[Any] = [thread_id]
    conditions = [f"m.thread_id = {p}"]
    conditions += _cursor(dialect, "messages", "m", after, newest_first, parameters, scope=f" AND thread_id = {p}")
    if after is not None:
        parameters.append(thread_id)
    parameters.append(limit + 1)
    order = "DESC" if newest_first else ""
    return (
        f"SELECT m.data FROM {dialect.prefix}messages AS m{_where(conditions)} ORDER BY m.seq {order} LIMIT {p}",
        parameters,
    )


def channels_sql(dialect: Dialect, after: str | None, limit: int) -> tuple[str, list[Any], str]:
    parameters: list[Any] = []
    conditions = _cursor(dialect, "channels", "c", after, False, parameters)
    parameters.append(limit + 1)
    table = f"{dialect.prefix}channels AS c"
    return (
        f"SELECT c.data FROM {table}{_where(conditions)} ORDER BY c.seq LIMIT {dialect.parameter}",
        parameters,
        f"SELECT count(*) FROM {table}",
    )


def _where(conditions: list[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""
