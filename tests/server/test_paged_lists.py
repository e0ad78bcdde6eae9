"""The service's lists are the engine's paged reads (``reads.py``): following ``paging.next.after`` page by page
gives every item once, in order, scoped to the caller's portal, with HubSpot's filters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from threading_engine.server import create_app

from .harness import CHANNELS, OTHER_TOKEN, THREADS, account_body, conforms, connect, publish
from .test_in_process import config, serving

CONVERSATIONS = "/conversations/v3/conversations"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    with serving(create_app(config(tmp_path))) as started:
        yield started


def _every_page(client: httpx.Client, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    found: list[dict[str, Any]] = []
    pages = 0
    after: str | None = None
    while True:
        answer = client.get(path, params={**params, **({} if after is None else {"after": after})})
        assert answer.status_code == 200, answer.text
        pages += 1
        found += answer.json()["results"]
        after = answer.json().get("paging", {}).get("next", {}).get("after")
        if after is None:
            return found, pages


def test_lists_page_by_cursor_through_every_item_of_the_callers_portal(client: httpx.Client) -> None:
    channel_id, account_id = connect(client, None)
    second = client.post(f"{CHANNELS}/{channel_id}/channel-accounts", json=account_body("+15550100101")).json()["id"]
    threads = [publish(client, channel_id, account_id, f"m{n}", sender=f"+4420794600{n:02d}") for n in range(5)]
    publish(client, channel_id, account_id, "again", sender="+442079460000")

    listed, pages = _every_page(client, THREADS, limit=2)
    assert [t["id"] for t in listed] == list(dict.fromkeys(m["conversationsThreadId"] for m in threads))
    assert pages == 3
    newest, _ = _every_page(client, THREADS, limit=2, sort="-id")
    assert newest == listed[::-1]
    conforms("CollectionResponsePublicThreadForwardPaging", client.get(THREADS, params={"limit": 2}).json())

    messages, _ = _every_page(client, f"{THREADS}/{listed[0]['id']}/messages", limit=1, sort="-createdAt")
    assert [m["text"] for m in messages] == ["again", "m0"]

    accounts, pages = _every_page(client, f"{CHANNELS}/{channel_id}/channel-accounts", limit=1)
    assert ([a["id"] for a in accounts], pages) == ([account_id, second], 2)
    first_page = client.get(f"{CHANNELS}/{channel_id}/channel-accounts", params={"limit": 1}).json()
    conforms("CollectionResponseWithTotalPublicChannelAccount", first_page)
    assert first_page["total"] == 2
    by_value = client.get(
        f"{CHANNELS}/{channel_id}/channel-accounts", params={"deliveryIdentifierValue": "+15550100101"}
    )
    assert [a["id"] for a in by_value.json()["results"]] == [second]
    in_inbox, _ = _every_page(client, f"{CONVERSATIONS}/channel-accounts", channelId=channel_id, inboxId="100")
    assert [a["id"] for a in in_inbox] == [account_id, second]
    channels, _ = _every_page(client, CHANNELS, limit=1)
    assert [c["id"] for c in channels] == [channel_id]

    other = {"Authorization": f"Bearer {OTHER_TOKEN}"}
    assert client.get(THREADS, headers=other).json()["results"] == []
    assert client.get(f"{CHANNELS}/{channel_id}/channel-accounts", headers=other).json()["total"] == 0
    assert client.get(THREADS, params={"after": "x" * 1000}).status_code == 400
