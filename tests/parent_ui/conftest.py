"""Fixtures for the dashboard: an app over a temporary data directory, a client, a CLI runner, a login."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_helpers import CHILDREN, PASSWORD, csrf_from, make_alert  # noqa: F401 (re-exported)
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from alert_store import AlertStore, DataDir
from parent_ui import create_app


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def fresh_app(data_dir: Path) -> Flask:
    """An app before first-run setup."""
    return create_app({"TESTING": True, "DATA_DIR": str(data_dir)})


@pytest.fixture
def app(fresh_app: Flask) -> Flask:
    """An app whose first-run setup is done (password and two children)."""
    client = fresh_app.test_client()
    token = csrf_from(client.get("/setup").get_data(as_text=True))
    response = client.post(
        "/setup",
        data={
            "csrf_token": token,
            "password": PASSWORD,
            "confirm": PASSWORD,
            "children": "\n".join(CHILDREN),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return fresh_app


@pytest.fixture
def store(app: Flask) -> Iterator[AlertStore]:
    with AlertStore(DataDir(Path(app.config["DATA_DIR"])).database) as s:
        yield s


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def csrf(self, path: str = "/login") -> str:
        return csrf_from(self._client.get(path).get_data(as_text=True))

    def login(self, password: str = PASSWORD, environ: dict | None = None):
        token = self.csrf()
        return self._client.post(
            "/login", data={"csrf_token": token, "password": password}, environ_base=environ or {}
        )

    def logout(self):
        return self._client.post("/logout", data={"csrf_token": self.csrf("/alerts/")})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
