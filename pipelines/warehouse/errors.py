"""Warehouse errors, importable without DuckDB: the CLI catches them around every command,
including ``leadroute validate``, which never opens the warehouse offline."""


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file."""


class WarehouseTooNew(RuntimeError):
    """The warehouse was upgraded by a newer leadroute release than the one running."""
