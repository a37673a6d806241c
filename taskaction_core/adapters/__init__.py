"""Real adapters of the ports (design.md §7): the shell around the interpreter that talks to the outside world.

- :mod:`~taskaction_core.adapters.sqlite`: the embedded default — TaskAction store, catalog, event sink and
  recorder on one SQLite file, safe for several processes;
- :mod:`~taskaction_core.adapters.apiserver`: the Kubernetes API server rules every real TaskAction store applies
  (preconditions, what an update writes, label merge patches, continue tokens);
- :mod:`~taskaction_core.adapters.clock`: the system clock;
- :mod:`~taskaction_core.adapters.serialization`: TaskAction ⇄ JSON document with the wire names of R1–R5, shared by
  the stores and the manifest readers;
- :mod:`~taskaction_core.adapters.catalog_key`: the catalog's string key (R97), shared by every catalog, the fake
  included.

Each adapter joins the contract suite of its port (``tests/contract``), so the fakes cannot drift from reality.
Nothing is imported here, so importing one adapter does not load the others' dependencies.
"""
