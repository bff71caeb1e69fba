"""The gate: a candidate (or a prompt/RAG variant) against its baselines on held-out data — rules applied
as pure checks (``checks``, ``fields``), checks that need data or the model (``probes``), orchestration
(``run``), the typed decision bound to its inputs (``decision``, ``store``), promotion and rollback
(``promote``) and the ladder (``ladder/``).
"""
