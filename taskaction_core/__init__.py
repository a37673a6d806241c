"""taskaction_core: Flyte 2's TaskAction reconciler as a pure functional core and a thin interpreter."""
