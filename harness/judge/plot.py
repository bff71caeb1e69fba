"""The confusion matrix of judge vs human, drawn with matplotlib (Agg) as PNG or SVG."""

from __future__ import annotations

import logging
from pathlib import Path

from harness.errors import InputError
from harness.judge.calibrate import Calibration

logger = logging.getLogger(__name__)


def plot_confusion(calibration: Calibration, path: str | Path) -> Path:
    """Draw the confusion matrix (rows: human, columns: judge) to ``path`` (``.png`` or ``.svg``), atomically.

    Raises:
        InputError: another suffix.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    path = Path(path)
    if path.suffix not in {".png", ".svg"}:
        raise InputError(f"--plot {path}: use a .png or .svg file name", code="bad-option")
    labels = calibration.confusion_matrix["labels"]
    matrix = calibration.confusion_matrix["matrix"] or [[0] * len(labels) for _ in labels]
    import numpy as np

    figure, axes = plt.subplots(figsize=(4.5, 4))
    ConfusionMatrixDisplay(np.asarray(matrix), display_labels=labels).plot(ax=axes, cmap="Blues", colorbar=False)
    qwk = calibration.statistics["quadratic_weighted_kappa"].value
    axes.set(xlabel="judge", ylabel="human", title=f"n={calibration.n}  QWK={'n/a' if qwk is None else f'{qwk:.2f}'}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    figure.savefig(tmp)
    plt.close(figure)
    tmp.replace(path)
    return path
