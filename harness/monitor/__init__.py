"""Production monitoring and harvesting: drift, output health, coverage, the next curation round."""

from harness.monitor.figures import MonitorFigures, WindowFigures, figures_of, load_figures, monitor_figures
from harness.monitor.records import Check, Cluster, Coverage, LogRecord, MalformedLine, MonitorReport, WindowReport
from harness.monitor.run import MonitorOptions, run_monitor

__all__ = [
    "Check", "Cluster", "Coverage", "LogRecord", "MalformedLine", "MonitorFigures", "MonitorOptions", "MonitorReport",
    "WindowFigures", "WindowReport", "figures_of", "load_figures", "monitor_figures", "run_monitor",
]
