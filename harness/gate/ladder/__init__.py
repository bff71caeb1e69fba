"""The ladder: which rung (prompt-only, RAG, fine-tuned) serves a task (``decide``: pure), its run
(``run``), record (``record``) and stored decisions bound to their inputs (``store``).
"""
