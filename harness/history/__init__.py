"""The run history: every run, decision and figure, indexed in one SQLite file.

``index_run`` and ``index_decision`` are called where runs and decisions are written;
``harness history import runs/ candidates/`` indexes folders written elsewhere. Names are
imported on first use (PEP 562), so ``import harness.history`` stays cheap for the CLI:
reading a run pulls in scikit-learn and scipy, rendering a report does not need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names, for type checkers (at run time they are loaded on first use)
    from harness.history.importer import ImportSummary, import_paths
    from harness.history.readers import CorruptArtifact, read_decision, read_run
    from harness.history.records import Figure
    from harness.history.schema import SCHEMA_VERSION, connect
    from harness.history.store import add_figures, default_store_path, index_decision, index_run, write_figures

_EXPORTS = {
    "CorruptArtifact": "readers", "read_decision": "readers", "read_run": "readers",
    "Figure": "records", "SCHEMA_VERSION": "schema", "connect": "schema",
    "ImportSummary": "importer", "default_store_path": "store", "import_paths": "importer", "index_decision": "store",
    "index_run": "store", "write_figures": "store", "add_figures": "store",
}
__all__ = ["SCHEMA_VERSION", "CorruptArtifact", "Figure", "ImportSummary", "add_figures", "connect", "default_store_path",
           "import_paths", "index_decision", "index_run", "read_decision", "read_run", "write_figures"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'harness.history' has no attribute {name!r}")
    return getattr(importlib.import_module(f"harness.history.{_EXPORTS[name]}"), name)
