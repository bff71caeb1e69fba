"""The pytest plugin (``plugin``: fixtures and hooks, entry point ``pytest11``), one session's state and
what it writes (``session``), and pytest-xdist sharing (``xdist``).
"""
