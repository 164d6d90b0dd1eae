from remit.store.schema import metadata

__all__ = ["metadata"]
