"""The views of PostgreSQL's view statements: their parameters, and the :class:`View` made of their rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...decisions import View, ViewQuery
from .. import rows
from ..view import ViewRows
from .remembered import Versions

_Row = tuple[Any, ...]
# The table of a row ``VIEW`` returns with its version, by the row's role (any other role is a thread's).
_VERSIONED = {"ticket": "ticket", "account": "account", "identifier_holder": "account", "channel": "channel"}


def batchable(query: ViewQuery) -> bool:
    """Whether ``BATCH_VIEW`` can load ``query``: it names an account, and nothing that resolves otherwise."""
    return (
        query.channel_account_id is not None
        and query.thread_id is None
        and query.channel_id is None
        and query.account_identifier is None
        and query.message_id is None
        and not query.channel_identifier_types
        and not query.participant_names
    )


def batch_parameters(queries: Sequence[ViewQuery]) -> dict[str, list[str | None]]:
    return {
        "account_ids": [query.channel_account_id for query in queries],
        "keys": [query.key for query in queries],
        "integration_thread_ids": [query.integration_thread_id for query in queries],
        "idempotency_ids": [query.idempotency_id for query in queries],
    }


def batch_views(
    queries: Sequence[ViewQuery], found: list[_Row], decoded: rows.Documents, versions: Sequence[Versions]
) -> list[View]:
    """The view of each query from ``BATCH_VIEW``'s rows: its own, and its account's account and channel;
    ``versions``, one per query, receives the versions of its rows."""
    own: list[list[_Row]] = [[] for _ in queries]
    by_account: dict[str, list[_Row]] = {}
    for position, account_id, *row in found:
        if position is None:
            by_account.setdefault(account_id, []).append(tuple(row))
        else:
            own[position - 1].append(tuple(row))
    return [
        view_from_rows(rows_ + by_account.get(query.channel_account_id or "", []), decoded, versions=read)
        for query, rows_, read in zip(queries, own, versions, strict=True)
    ]


def view_parameters(query: ViewQuery) -> dict[str, Any]:
    identifier = query.account_identifier
    return {
        "thread_id": query.thread_id,
        "account_id": query.channel_account_id,
        "key": query.key,
        "integration_thread_id": query.integration_thread_id,
        "idempotency_id": query.idempotency_id,
        "channel_id": query.channel_id,
        "identifier_type": None if identifier is None else identifier.type.value,
        "identifier_value": None if identifier is None else identifier.value,
        "message_id": query.message_id,
        "identifier_types": query.channel_identifier_types,
        "names": query.participant_names,
    }


def view_from_rows(
    found: list[tuple[Any, ...]],
    decoded: rows.Documents,
    *,
    asked_types: bool = False,
    asked_names: bool = False,
    versions: Versions | None = None,
) -> View:
    """The :class:`View` from ``VIEW``'s rows: (role, the row's version, ten thread columns or a ticket's three,
    document).

    ``asked_types``: the query asked for the identifier types of the channel's accounts (V7), so that none
    found means an empty set rather than "not asked"; ``asked_names``, likewise, the names on its thread (N1).
    ``versions``, if given, receives the version of every channel, account, thread and ticket row read."""
    collected = ViewRows(decoded)
    types: list[str] = []
    named: list[tuple[int, str]] = []
    for role, version, *columns, data in found:
        if versions is not None and version is not None:
            versions[_VERSIONED.get(role, "thread"), columns[0]] = version
        if role == "ticket":
            collected.ticket(rows.ticket_from_row(columns[:3]))
        elif role == "identifier_type":
            types.append(data)
        elif role == "named":  # the thread's latest messages, with their order (a UNION keeps none)
            named.append((int(columns[0]), data))
        elif data is not None:
            collected.document(role, data)
        else:  # for "key", VIEW returns the open thread, else the latest closed one (R4b)
            collected.thread(role, rows.thread_from_row(columns))
    if asked_types:
        collected.identifier_types_in_use(types)
    if asked_names and "thread" in collected.threads:
        collected.latest_messages(data for _, data in sorted(named, reverse=True))
    return collected.view()
