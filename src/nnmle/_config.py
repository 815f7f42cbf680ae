"""JAX settings nnmle relies on: float64 everywhere, a persistent compilation cache.

The cache is shared by every process of the user (threads, Dask workers, pytest
workers). JAX writes its entries without a lock unless the cache is bounded, and
a process reading an entry that another is still writing crashes in the
deserializer; so the cache is bounded (:data:`CACHE_MAX_BYTES`, least recently
used entries evicted), which makes JAX guard reads and writes with a file lock.

Each compiled program is loaded into its own memory maps (about 500 for a new
architecture's fit), and the kernel limits a process to ``vm.max_map_count``
maps (65,530 by default): a long process that compiles many architectures (a
grid search, ``select_hidden``, a test session) would crash inside XLA when it
reaches the limit. :func:`release_compiled` clears JAX's caches of compiled
programs when the process holds more than half the limit (later calls reload
them from the persistent cache).
"""

from __future__ import annotations

import gc
import os

import jax

jax.config.update("jax_enable_x64", True)

#: bound of the persistent compilation cache (bytes); ``NNMLE_JAX_CACHE_MAX_BYTES`` overrides
CACHE_MAX_BYTES = int(os.environ.get("NNMLE_JAX_CACHE_MAX_BYTES", 2 * 1024**3))

_CACHE = os.environ.get(
    "NNMLE_JAX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "nnmle", "jax")
)
if _CACHE and _CACHE.lower() != "off":
    try:
        os.makedirs(_CACHE, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", _CACHE)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.05)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        jax.config.update("jax_compilation_cache_max_size", CACHE_MAX_BYTES)
    except OSError:  # a read-only home: run without the cache
        pass


def _max_map_count() -> int | None:
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read())
    except (OSError, ValueError):  # not Linux
        return None


_MAX_MAPS = _max_map_count()


def memory_maps() -> int | None:
    """Memory maps this process holds (Linux), or None where it cannot be read."""
    try:
        with open("/proc/self/maps", "rb") as f:
            return f.read().count(b"\n")
    except OSError:
        return None


def release_compiled(share: float = 0.5) -> bool:
    """Clear JAX's compiled-program caches if the process holds over ``share`` of its map limit.

    Returns True when it cleared them. Programs running in other threads keep
    their executables; later calls recompile or reload from the persistent cache.
    """
    if _MAX_MAPS is None:
        return False
    held = memory_maps()
    if held is None or held < share * _MAX_MAPS:
        return False
    jax.clear_caches()
    gc.collect()
    return True
