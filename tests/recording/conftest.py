"""Fixtures for the recording layer: a real toolwise on an in-memory Chroma, and its records.

Helpers are handed out as fixtures (not imported) so the tests need no package layout.
"""

from __future__ import annotations
