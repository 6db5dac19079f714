"""Moved to :mod:`toolkit.register.cache`; this name keeps older imports working."""

from .register.cache import FILE_NAME, MAGIC, cache_key, cache_path, load, save, should_save

__all__ = ["FILE_NAME", "MAGIC", "cache_key", "cache_path", "load", "save", "should_save"]
