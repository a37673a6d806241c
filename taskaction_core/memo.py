"""The memo caches of the hot path, in one place.

The core memoizes pure functions of immutable inputs (template decoding, the cache configuration, output paths and
the context check) so that a steady reconcile round does no repeated parsing. Memoization never changes a result;
:func:`clear_caches` exists for tests that must not share state between cases (mutation testing, for one) and for
long-lived processes that want to return the memory.
"""

from __future__ import annotations

from taskaction_core import decision, idl, naming, output_path
from taskaction_core.reconcile import action_events, cache, context, status, task


def clear_caches() -> None:
    """Empty every memo cache of the core."""
    decision.requeue_after.cache_clear()
    idl._decode_task_template_cached.cache_clear()
    idl._decode_condition_spec_cached.cache_clear()
    output_path._compute_cached.cache_clear()
    output_path._parsed_base.cache_clear()
    cache.cache_config.cache_clear()
    context.attempt_context_error.cache_clear()
    context._attempt_context.cache_clear()
    status._publish_failure_warning.cache_clear()
    task._attempt_facts_cached.cache_clear()
    status._plain_action_id.cache_clear()
    status._plain_phase.cache_clear()
    status._gc_labels.cache_clear()
    action_events._output_refs.cache_clear()
    action_events._event_references.cache_clear()
    naming.overlay.cache_clear()
