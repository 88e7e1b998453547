"""One :class:`alert_store.AlertStore` per request, kept on ``g`` and closed when the request ends."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, g

from alert_store import AlertStore, DataDir


def data_dir() -> DataDir:
    return DataDir(Path(current_app.config["DATA_DIR"]))


def get_db() -> AlertStore:
    """The request's store, opened on first use."""
    if "db" not in g:
        g.db = AlertStore(data_dir().database)
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    store = g.pop("db", None)
    if store is not None:
        store.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)
