"""Local simulators of the vendor APIs tribe-sync talks to (real HTTP servers)."""
