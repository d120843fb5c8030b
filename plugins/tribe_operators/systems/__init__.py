"""External systems, each in its own package (``poweroffice/``, ``tribe/``, ``odoo/``, ``exact/``):
hook, adapters, named transforms, connection type, declared as a ``registry.System``. The core
finds them through ``registry`` and talks to them through ``protocols``; nothing in the core
imports a system package."""
