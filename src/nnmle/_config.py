"""JAX settings nnmle relies on: float64 everywhere, a persistent compilation cache."""

from __future__ import annotations

import os

import jax

jax.config.update("jax_enable_x64", True)

_CACHE = os.environ.get(
    "NNMLE_JAX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "nnmle", "jax")
)
if _CACHE and _CACHE.lower() != "off":
    try:
        os.makedirs(_CACHE, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", _CACHE)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.05)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    except OSError:  # a read-only home: run without the cache
        pass
