"""The decision logic: which thread every message belongs to (SPEC R0-R5, I1, D1-D2, V5-V6).

Theory of operation
-------------------
The engine handles one command at a time, in three pure steps and one impure one:

1. :func:`normalize` checks what can be checked without state (V1-V6's shapes, V4's canonical identifiers)
   and returns the command in canonical form. Bad input stops here, before anything is read.
2. :func:`plan` says what the command must read: a :class:`ViewQuery`. A message is keyed (R0) by its
   account plus the set of its participants' identifiers minus the account's own, so planning a message
   needs the account (immutable routing facts the engine may cache).
3. The store loads a :class:`View` in a transaction; :func:`decide` turns view, command, time and policy into
   a :class:`Decision` (or raises a typed error). No clock, no I/O, no randomness here: ``now`` and
   ``new_id`` are given.
4. The store commits the decision's changes with its events atomically; a lost race is retried from step 3.

Routing a published message, under DELIVERY_IDENTIFIER:

    idempotency record? --yes--> same payload: DUPLICATE (D1) / other payload: IDEMPOTENCY_CONFLICT (D2)
    key's open thread?  --yes--> APPENDED (R4a, R3)
    INCOMING and latest closed thread closed < window ago? --yes--> REOPENED with its ticket (R4b, R6)
    otherwise           -------> CREATED, with a ticket if the account creates tickets (R4c, R3, R6)

and under INTEGRATION_THREAD_ID the key is (account, integrationThreadId): the live thread for it gets the
message, reopened if INCOMING, THREAD_NOT_OPEN if OUTGOING to a closed one; otherwise a new thread (I1).
Agent replies need an open thread (R3); agent conversation starts go to the key's open thread or a new one.

The steps live in ``normalizing``, ``planning`` and ``deciding``; a message is placed by ``publishing`` (the
integration's) or ``agents`` (replies, conversation starts) through ``placing``; channels and accounts are
``channels``.
"""

from __future__ import annotations

from .channels import IdFactory
from .deciding import decide
from .normalizing import normalize
from .placing import reopen_elapsed
from .planning import message_key, plan

__all__ = ["IdFactory", "decide", "message_key", "normalize", "plan", "reopen_elapsed"]
