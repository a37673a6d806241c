"""The memo caches of the hot path, in one place.

The core memoizes pure functions of immutable inputs (template decoding, the cache configuration, output paths and
the context check) so that a steady reconcile round does no repeated parsing. Memoization never changes a result;
:func:`clear_caches` exists for tests that must not share state between cases (mutation testing, for one) and for
long-lived processes that want to return the memory.
"""

from __future__ import annotations

from taskaction_core import idl, output_path
from taskaction_core.reconcile import cache, context, status


def clear_caches() -> None:
    """Empty every memo cache of the core."""
    idl._decode_task_template_cached.cache_clear()
    idl._decode_condition_spec_cached.cache_clear()
    output_path._compute_cached.cache_clear()
    cache._cache_config.cache_clear()
    context._context_error.cache_clear()
    status._publish_failure_warning.cache_clear()
