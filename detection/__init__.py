"""detection: detection-as-code for Elastic Security."""

__version__ = "0.1.0"
