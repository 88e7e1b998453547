"""Fixtures shared by the end-to-end tests: the test CA, the origin servers, proxies over a set-up family.

Module-scoped, as each module had them: a module's tests share one CA and one origin, no two modules do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from hardening_support import NastyOrigin
from proxy_harness import (
    Origin,
    OriginCertificates,
    ProxyProcess,
    assign_child,
    make_certificates,
    start_proxy,
)

Server = TypeVar("Server", bound=Origin)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> OriginCertificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


def _serve[Server: Origin](server: Server) -> Iterator[Server]:
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def origin(certificates: OriginCertificates) -> Iterator[Origin]:
    """Ordinary pages, the scam page and a WebSocket chat (``proxy_harness.Origin``)."""
    yield from _serve(Origin(certificates))


@pytest.fixture(scope="module")
def nasty_origin(certificates: OriginCertificates) -> Iterator[NastyOrigin]:
    """Bombs, broken encodings and attack pages (``hardening_support.NastyOrigin``)."""
    yield from _serve(NastyOrigin(certificates))


@pytest.fixture(scope="module")
def child_proxy(
    tmp_path_factory: pytest.TempPathFactory, certificates: OriginCertificates
) -> Iterator[Callable[..., ProxyProcess]]:
    """Starts proxies (``start_proxy`` keywords) over fresh data directories where CHILD is on DEVICE, as
    the parent assigned it in the dashboard; every one is stopped after the module."""
    started: list[ProxyProcess] = []

    def start(**kwargs: object) -> ProxyProcess:
        root = tmp_path_factory.mktemp("data")
        assign_child(root)
        started.append(proxy := start_proxy(root, certificates, **kwargs))  # type: ignore[arg-type]
        return proxy

    yield start
    for proxy in reversed(started):
        proxy.stop()
