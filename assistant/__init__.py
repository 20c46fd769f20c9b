"""FAQ retrieval assistant for multi-chain crypto wallet support (Chinese and English)."""

__version__ = "0.1.0"
