"""The thin interpreter: performs the core's effects against ports and feeds the outcomes back (design.md §4, §7).

:mod:`~taskaction_core.interpreter.ports` declares the ports; :mod:`~taskaction_core.interpreter.plugin_context`
is what a plugin receives. In-memory fakes of every port live in :mod:`taskaction_core.testing`.
"""
