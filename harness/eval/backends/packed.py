"""Decode steps on MKL-prepacked weights: the same float32 products, read faster on a CPU.

A decode step multiplies a few rows (one per sequence of the batch) by every weight matrix of the
model. On a CPU, MKL's ``sgemm`` at 16 rows reaches about a fifth of its large-matrix rate, most
of the time going into re-laying the weight out for each call; ``cblas_sgemm_pack`` lays a
weight out once for a given row count and ``sgemm_compute`` then reuses it (torch exposes the
pair as ``torch.ops.mkl._mkl_reorder_linear_weight`` / ``_mkl_linear``, the path inductor's
weight freezing takes). Measured on the embedded model (``bench/decode_levers.py``, README
"Floors"): every linear layer of one decode step at batch 16, 62.5 ms plain against 51.9 ms packed.

:func:`packed_linears` makes every large ``nn.Linear`` of a float32 CPU model take the packed
weight for inputs of exactly ``rows`` rows (the decode steps of a batch of ``rows`` sequences);
any other input (the prefill, a shorter last batch) takes ``F.linear`` as before. Each pack's
product is checked against ``F.linear`` on a probe of its shape, bit for bit, when it is built;
where they differ (one row; another MKL or CPU path) that layer keeps ``F.linear``, so greedy
outputs do not change.
Packs are kept per weight (a base model's weights do not change while it serves) in a
:class:`WeightPacks` the backend owns, for the two row counts used last (a full batch and a
last, shorter one): each row count's packs hold a copy of the weights (538 MB for the embedded
model in float32) and take about 0.4 s to build.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

MIN_PACKED_DIM = 64
"""Smaller matrices (LoRA's rank-16 A and B) gain nothing from packing and keep ``F.linear``."""


@functools.cache
def packing_available() -> bool:
    """Whether this torch has MKL's packed sgemm (x86 builds do)."""
    import torch

    return bool(torch.backends.mkl.is_available()) and hasattr(torch.ops.mkl, "_mkl_linear")


class WeightPacks:
    """Packed copies of a model's weights, per (weight, row count); built on first use, then reused.

    A pack is kept only where its product equals ``F.linear``'s bit for bit on a probe of that
    shape (MKL picks its kernel, and so its order of additions, by shape: at one row ``F.linear``
    takes a matrix-vector kernel that sums in another order, so one-row packs are refused here);
    elsewhere the entry is ``None`` and the layer keeps ``F.linear``.
    """

    def __init__(self, max_row_counts: int = 2) -> None:
        self.max_row_counts = max_row_counts
        self._packs: dict[tuple[int, int, int], tuple[Any, Any]] = {}  # the weight is kept: its id stays its own
        self._recent: list[int] = []  # row counts, the one used last at the end

    def get(self, weight: Any, rows: int) -> Any:
        """The pack of ``weight`` for inputs of ``rows`` rows, or ``None`` where it would change the product."""
        import torch

        if rows < 2:  # F.linear takes its matrix-vector kernel: no pack sums in its order (and none is kept)
            return None
        key = (id(weight), weight._version, rows)
        if rows in self._recent:
            self._recent.remove(rows)
        self._recent.append(rows)
        if key not in self._packs:
            self._evict_stale()
            with torch.inference_mode():
                pack = torch.ops.mkl._mkl_reorder_linear_weight(weight.detach(), rows)
                probe = torch.randn(rows, 1, weight.shape[1], generator=torch.Generator().manual_seed(rows))
                exact = torch.equal(torch.ops.mkl._mkl_linear(probe, pack, weight, None, rows),
                                    torch.nn.functional.linear(probe, weight))
            self._packs[key] = (weight, pack if exact else None)
        return self._packs[key][1]

    def _evict_stale(self) -> None:
        """Keep the packs of the ``max_row_counts`` row counts used last (each costs the weights' size)."""
        keep = set(self._recent[-self.max_row_counts :])
        self._recent = [rows for rows in self._recent if rows in keep]
        for key in [key for key in self._packs if key[2] not in keep]:
            del self._packs[key]

    def __len__(self) -> int:
        """How many weights (per row count) have a pack in use."""
        return sum(pack is not None for _, pack in self._packs.values())


def packable(model: Any) -> bool:
    """A float32 model on the CPU, and a torch with MKL's packed sgemm."""
    import torch

    return model.device.type == "cpu" and model.dtype == torch.float32 and packing_available()


@contextlib.contextmanager
def packed_linears(model: Any, rows: int, packs: WeightPacks) -> Iterator[None]:
    """Within the block, inputs of ``rows`` rows to the model's large linear layers use packed weights."""
    import torch

    if not packable(model):
        yield
        return
    patched = []
    for module in model.modules():
        if type(module) is torch.nn.Linear and min(module.weight.shape) >= MIN_PACKED_DIM:
            pack = packs.get(module.weight, rows)
            if pack is not None:
                module.forward = functools.partial(_packed_forward, module, pack, rows)
                patched.append(module)
    try:
        yield
    finally:
        for module in patched:
            del module.forward


def _packed_forward(module: Any, pack: Any, rows: int, inputs: Any) -> Any:
    import torch

    if inputs.dtype != torch.float32 or inputs.numel() // inputs.shape[-1] != rows:
        return torch.nn.functional.linear(inputs, module.weight, module.bias)
    return torch.ops.mkl._mkl_linear(inputs, pack, module.weight, module.bias, rows)
