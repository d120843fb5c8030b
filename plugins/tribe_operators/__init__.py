"""tribe-sync: keep Tribe CRM in step with PowerOffice Go, Odoo and Exact Online."""
from __future__ import annotations

__version__ = "0.1.0"
