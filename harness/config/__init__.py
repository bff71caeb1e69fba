"""Config files: YAML with line numbers (``file``), the one validation engine for dataclass sections
(``fields``), and the schemas of ``harness.yaml`` (``eval_config``) and its ``gate:`` section (``gate``).

``lora.yaml``'s schema is ``harness.training.config``, checked by the same engine.
"""
