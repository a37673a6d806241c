"""Real Flyte 2 SDK tasks (``flyte==2.12.1``, the ``flyte`` extra) run locally through the reconciler.

- :mod:`~.flyte_sdk.plugin`: the plugin for task type ``python``, which runs the SDK's
  ``a0`` entrypoint as a process through the subprocess plugin (imports only flyteidl2);
- :mod:`~.flyte_sdk.submit`: a task and its inputs → template, ``inputs.pb`` and TaskAction;
  a finished TaskAction → the task's typed outputs;
- :mod:`~.flyte_sdk.local`: :class:`LocalFlyte`, the embedded backend with a controller;
- ``python -m taskaction_core.adapters.plugins.flyte_sdk submit MODULE:TASK -i NAME=VALUE``: the same from a shell;
- :mod:`~.flyte_sdk._sdk`: the only module that imports ``flyte``.

Nothing is imported here, so importing the plugin does not need the SDK. See docs/tutorial-flyte-sdk.md.
"""
