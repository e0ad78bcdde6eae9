"""The SQLite backend: a durable store for one host, using only the standard library's ``sqlite3``.

Every unit of work is one ``BEGIN IMMEDIATE`` transaction: it takes SQLite's write lock before it reads, so
writers from any number of processes are serialized by the database and a view cannot go stale before its
commit. The uniqueness rules are enforced by the schema (``schema.py``) all the same, so a bug or a
foreign writer cannot break them either. Driver errors become the library's errors in one place
(``translation.py``).

A message on a recently used key reads only whether its idempotency id is taken: the rest of its view is
remembered from earlier transactions, and forgotten whenever it could be stale (``backends/viewcache.py``).

Modules, each importing only those after it: ``repository`` (the :class:`SQLiteRepository` and its reads),
``unit`` (one unit of work), ``statements`` (the SQL a unit sends), ``translation`` (driver errors become the
library's), ``schema`` (tables and migrations).

Durability: WAL journal, and ``synchronous=FULL`` by default (a commit survives power loss);
``synchronous=NORMAL`` is faster and survives a crash of the process but may lose the last commits on power
loss.
"""

from .repository import SQLiteRepository, Synchronous

__all__ = ["SQLiteRepository", "Synchronous"]
