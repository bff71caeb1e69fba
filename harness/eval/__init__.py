"""The eval stage: held-out cases, variants (prompt, RAG, adapter), generation through the cache on a
backend, and the run folder (``runner``). Import modules by their full path; this face re-exports nothing
(so importing one module never loads torch through another).
"""
