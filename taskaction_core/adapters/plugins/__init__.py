"""The embedded plugins (design.md §7): real implementations of the :class:`~taskaction_core.interpreter.ports.Plugin`
port, beside the scripted plugin of :mod:`taskaction_core.testing`.

- :mod:`~.subprocess_plugin`: a task's ``container.command + args`` as a local process, one
  per launch, that survives and re-attaches across controller restarts (Linux);
- :mod:`~.python_plugin`: a task implemented by a Python callable on a thread pool;
- :mod:`~.template_render`: Go's ``{{.input}}`` placeholder renderer (pure);
- :mod:`~.literals`: flyteidl2 literals ⇄ Python values, and their template string form.

Nothing is imported here, so importing one plugin does not load the others' dependencies.
"""
