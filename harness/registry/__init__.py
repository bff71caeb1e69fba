"""The adapter registry's records (``index``: ``registry.json``) and each task's current deployment
(``deployments``), read without the gate. Promotion and rollback: ``harness.gate.promote``.
"""
