"""Storage backends. Each module holds one; only :mod:`.memory` is imported by default."""
