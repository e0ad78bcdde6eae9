"""What the rules may be handed to remember between commands: the memos of one engine (see ``memos``).

The rules keep no state of their own; an engine owns one :class:`Memos` and passes it in, or passes ``None``
when its fast paths are off.
"""

from __future__ import annotations

from ..identifiers import DeliveryIdentifier, KnownSpellings
from ..memos import MAX_ACCOUNTS_REMEMBERED, MAX_KEYS_REMEMBERED, MAX_KNOWN_SPELLINGS, Memo
from ..model import Participant


class Memos:
    """The memos of one engine that the rules use: identifier spellings (``normalize``), each account's own
    recipients tuple and each key's participants (``decide``). An engine without fast paths passes ``None``
    instead, which also turns the rules' shortcuts off."""

    __slots__ = ("key_participants", "own_recipients", "spellings")

    def __init__(self) -> None:
        self.spellings = KnownSpellings(MAX_KNOWN_SPELLINGS)
        # account id -> (its identifier, the one-participant tuple an incoming message is addressed to)
        self.own_recipients: Memo[str, tuple[DeliveryIdentifier, tuple[Participant, ...]]] = Memo(
            MAX_ACCOUNTS_REMEMBERED
        )
        # key -> the participants it stands for: the recipients of every reply on its threads
        self.key_participants: Memo[str, tuple[Participant, ...]] = Memo(MAX_KEYS_REMEMBERED)
