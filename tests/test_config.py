"""nnmle._config: float64, the bounded compilation cache, the memory-map guard."""

import jax
import jax.numpy as jnp
import pytest

from nnmle import _config


def test_float64_and_a_bounded_locked_cache():
    assert jnp.zeros(1).dtype == jnp.float64
    if jax.config.jax_compilation_cache_dir:
        # a bound is what makes JAX lock the cache between processes
        assert jax.config.jax_compilation_cache_max_size == _config.CACHE_MAX_BYTES > 0


@pytest.mark.skipif(_config.memory_maps() is None, reason="no /proc/self/maps (not Linux)")
def test_release_compiled_frees_the_maps_of_compiled_programs():
    for k in range(1, 6):
        jax.jit(lambda x, k=k: jnp.tanh(x) * k)(jnp.ones((k, 3))).block_until_ready()
    before = _config.memory_maps()
    assert _config.release_compiled(share=1.0) is False  # far from the limit: nothing cleared
    assert _config.release_compiled(share=0.0) is True
    assert _config.memory_maps() < before
