"""The run history: every run, decision and figure, indexed in one SQLite file.

``index_run`` and ``index_decision`` are called where runs and decisions are written;
``harness history import runs/ candidates/`` indexes folders written elsewhere.
"""

from harness.history.readers import CorruptArtifact, read_decision, read_run
from harness.history.records import Figure
from harness.history.schema import SCHEMA_VERSION, connect
from harness.history.store import ImportSummary, default_store_path, import_paths, index_decision, index_run, write_figures

__all__ = ["SCHEMA_VERSION", "CorruptArtifact", "Figure", "ImportSummary", "connect", "default_store_path",
           "import_paths", "index_decision", "index_run", "read_decision", "read_run", "write_figures"]
