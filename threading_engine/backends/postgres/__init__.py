"""The PostgreSQL backend: one database shared by many server processes on many hosts (psycopg 3).

Modules, each importing only those below it: ``repository`` (the :class:`PostgresRepository` and its reads),
``unit`` (one unit of work), ``writes`` (the statements that write what a unit saved), ``viewrows`` (the
views made of the view statements' rows), ``remembered`` (the views remembered between commands),
``connections`` (the pool, driver errors translated, a lost COMMIT settled), ``schema`` (the statements, and
running the migrations), ``migrations`` (the tables, version by version).

Theory of operation
-------------------
A unit of work is one READ COMMITTED transaction and, in steady state, two round trips to the server
(``unit.py``):

1. ``load`` sends one pipeline: ``BEGIN`` (with the transaction's ``lock_timeout`` on a connection the caller
   lent; the repository's own pool sets it once per connection), ``LOCK`` and ``VIEW``
   (``schema.Statements``). ``LOCK`` takes a transaction-scoped advisory lock on the command's
   *subject*: the (account, key) of a DELIVERY_IDENTIFIER message or thread, the (account, integration thread
   id) of an INTEGRATION_THREAD_ID one, the (channel, identifier) of a new account, else the account or channel
   being updated. ``VIEW`` then reads everything the rules need in one statement. They must be two statements:
   under READ COMMITTED each statement reads a snapshot taken when it starts, so only a statement that starts
   after the lock is granted sees every commit of the lock's previous holders.
2. ``commit`` sends one pipeline: the upserts, the events (whose insert takes the outbox lock), and
   ``COMMIT``. A unit of work that writes nothing (a DUPLICATE, a rejected command) ends its transaction
   instead: still two round trips.

A command on a key this process wrote costs one round trip (``remembered.py``): its view is answered from
memory, and its commit sends the key's ``LOCK``, a guard that fails the transaction unless the rows that view
was read from are unchanged (their ``version``, raised by every write), the writes, the events, in one
pipeline. That pipeline has no ``BEGIN`` and no ``COMMIT``: its one Sync commits it as one transaction, or
rolls it back when the guard fails, which then costs no ``ROLLBACK`` of its own; the command is sent again at
once on the two-round-trip path. Keys where such misses dominate (and the whole store, when they do overall)
go the two-round-trip way.

A batch (``Engine.execute_many``) costs two round trips too, however many commands it holds: ``prefetch``
sends one ``LOCK`` for the subjects of every command (in name order, so two batches never wait for each other
in a cycle) and one ``VIEW`` per command, in one pipeline; each later ``load`` is answered from those views,
kept current with what the batch saved since (``readahead.py``), or, where that is not certain, read again.
Saved rows wait for the next pipeline and are written a few statements per table, one array per column.

Every writer of a thread holds the lock of its key, so a message appended to an open thread and a command
closing that thread run one after the other, each on the other's result (R1, R3, R4, R7, R8 need that); the
partial unique indexes of U1-U4 (``schema.py``) are the backstop that turns any race the locks
miss into a :class:`WriteConflict`, which the engine retries.

The key lock was chosen over row locks (``FOR UPDATE``) and over SERIALIZABLE without locks by measurement: the
README's PostgreSQL section gives the figures.

Outbox order
------------
A sequence hands out numbers when ``nextval`` runs, not when the transaction commits, so a reader could see
event 11 committed while event 10 is still in flight and skip 10 for ever. So every commit takes a shared
advisory lock (one per schema) in the statement that draws its sequence numbers, and holds it until its commit is
visible; :meth:`PostgresRepository.read_events` reads while holding that lock *exclusively*. While a reader
holds it, no transaction is between drawing a number and committing: every number drawn so far is
committed or rolled back for good, and any number drawn later is larger than all of them. So a consumer
that reads on from the last sequence it saw misses nothing. Writers do not wait for each other (their
commits still share WAL flushes); eventsourcing's recorder takes the lock exclusively in every writer
instead, which the README's PostgreSQL section measures against this.

Errors
------
``connections.translate`` is the one place where driver errors become the library's: lost races (a row
refused by U1-U4's index or constraint, recognised by its name; 40001, 40P01, 55P03) and a connection lost
before ``COMMIT`` was sent are :class:`WriteConflict`, which the engine retries; any other refused row (an id
already taken, U0) is a :class:`StorageError` at once; a connection lost while ``COMMIT`` was in flight is
settled by asking the server whether the transaction's events (or message) exist, so a retry never applies a
change twice; anything else is :class:`StorageError`.
"""

from .repository import PostgresRepository

__all__ = ["PostgresRepository"]
