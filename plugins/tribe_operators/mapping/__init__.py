"""Mapping is data: ``include/mappings/<system>/<stream>.yaml`` + named transforms."""
