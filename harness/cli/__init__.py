"""The ``harness`` command line: one entry point (``main``), one module per verb (``*_cmd``), the options
every verb shares.
"""
