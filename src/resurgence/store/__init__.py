"""Run results on disk: every file written whole or not at all (write, then rename)."""

from resurgence.store.files import atomic_write_bytes, write_frame

__all__ = ["atomic_write_bytes", "write_frame"]
