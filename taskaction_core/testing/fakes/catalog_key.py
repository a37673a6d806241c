"""Moved to :mod:`taskaction_core.adapters.catalog_key`, shared by the fake and the real catalog adapters.

Kept as a re-export so existing imports keep working.
"""

from taskaction_core.adapters.catalog_key import derive_catalog_key, identifier_text

__all__ = ["derive_catalog_key", "identifier_text"]
