"""What would stop NotAlone working on this machine, each problem named in one sentence with what to do.

``notalone doctor`` prints every check; ``notalone up`` runs the same checks before it starts its parts, so
that a part that cannot start is never started (and restarted) only to fail. Each :class:`Finding` names
the part it keeps from running: ``up`` refuses to start for the data directory or the dashboard, runs the
dashboard alone (which then says why the filter is not running) for the proxy, and only warns otherwise.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from alert_store import DataDir
from notalone.commands.proxy import CA_KEY_FILES
from notalone.config import Config
from notalone.lan import lan_ip, port_free

OK, WARNING, ERROR = "ok", "warning", "error"
PROXY, DASHBOARD, ALL = "proxy", "dashboard", "all"

# Our packages, and the part that cannot run when one of their modules does not import. Every module is
# imported (not only the entry points), because a part imports some of them only when it first needs them.
PACKAGES: dict[str, str] = {
    "alert_store": ALL,
    "classifier": PROXY,
    "proxy_addon": PROXY,
    "parent_ui": DASHBOARD,
}
# Modules imported only by `notalone train` (the train extra), not by a running NotAlone.
TRAINING_ONLY = frozenset({"classifier.train"})
REINSTALL = "run `make clean run` in the NotAlone folder to reinstall the locked packages"
IMPORT_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Finding:
    """One check's outcome. ``message`` is one sentence; for a problem, what is wrong and what to do.

    ``blocks`` is the part the problem keeps from running (``proxy``, ``dashboard`` or ``all``), empty
    when NotAlone can run with it.
    """

    check: str
    level: str
    message: str
    blocks: str = ""

    @property
    def ok(self) -> bool:
        return self.level == OK


# -- the checks ------------------------------------------------------------------------------------------
_IMPORT_ALL = """
import importlib, json, pkgutil, sys
packages, skip = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
failures = []
for package in packages:
    try:
        root = importlib.import_module(package)
        names = [package] + [m.name for m in pkgutil.walk_packages(root.__path__, package + ".")]
    except Exception as exc:
        failures.append([package, package, f"{type(exc).__name__}: {exc}"])
        continue
    for name in names:
        if name in skip:
            continue
        try:
            importlib.import_module(name)
        except Exception as exc:
            failures.append([package, name, f"{type(exc).__name__}: {exc}"])
print(json.dumps(failures))
"""


def check_imports(
    packages: Mapping[str, str] = PACKAGES,
    *,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Import every module of ``packages`` in a fresh interpreter (this one keeps its memory and its
    imports); one finding per part that cannot run, naming the first module that failed and why."""
    try:
        result = subprocess.run(
            [python, "-c", _IMPORT_ALL, json.dumps(list(packages)), json.dumps(sorted(TRAINING_ONLY))],
            capture_output=True,
            text=True,
            timeout=IMPORT_TIMEOUT_S,
            env=dict(env) if env is not None else None,
            check=False,
        )
        failures = json.loads(result.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return [Finding("dependencies", ERROR, f"Python at {python} could not be run; {REINSTALL}.", ALL)]
    findings: list[Finding] = []
    reported: set[str] = set()
    for package, module, error in failures:
        part = packages[package]
        if part in reported:
            continue
        reported.add(part)
        what = "NotAlone" if part == ALL else f"The {part}"
        findings.append(
            Finding(
                "dependencies",
                ERROR,
                f"{what} cannot start: importing {module} fails with {error}; {REINSTALL}.",
                part,
            )
        )
    return findings or [Finding("dependencies", OK, "Every package NotAlone needs imports.")]


def default_model_path() -> Path:
    from classifier.model import ARTIFACT_NAME, MODELS_DIR

    return MODELS_DIR / ARTIFACT_NAME


def check_model(path: Path | None = None) -> list[Finding]:
    """The artifact's sha256 against its model card, as the proxy checks it before loading (not loaded
    here: unpickling runs code, and the check is what matters)."""
    try:
        path = path or default_model_path()
    except ImportError as exc:
        return [Finding("model", ERROR, f"The model cannot be found: {exc}; {REINSTALL}.", PROXY)]
    card = path.with_name("model-card.json")
    advice = "restore the shipped model with `git checkout models/` or train one with `make model`"
    if not path.is_file():
        return [
            Finding(
                "model",
                ERROR,
                f"The model {path} is missing, so the proxy would pass pages on unchecked; {advice}.",
            )
        ]
    try:
        expected = json.loads(card.read_text(encoding="utf-8"))["artifact"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return [
            Finding(
                "model",
                ERROR,
                f"The model card {card} is missing or unreadable, so the proxy would not load the model; "
                f"{advice}.",
            )
        ]
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        return [
            Finding(
                "model",
                ERROR,
                f"The model {path} does not match the checksum in its model card (it changed or is "
                f"damaged), so the proxy would refuse it and pass pages on unchecked; {advice}.",
            )
        ]
    return [Finding("model", OK, f"The model matches its checksum ({expected[:12]}…).")]


def check_data_dir(data_dir: DataDir) -> list[Finding]:
    """NotAlone can write in its data directory, or create it (the check itself creates nothing)."""
    root = data_dir.root
    existing = next((p for p in (root, *root.parents) if p.exists()), None)
    try:
        if existing is None or not existing.is_dir():
            raise NotADirectoryError(f"{existing} is not a directory")
        if existing == root:
            with tempfile.NamedTemporaryFile(dir=root, prefix=".doctor-"):
                pass
        elif not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot create it in {existing}")
    except OSError as exc:
        return [
            Finding(
                "data directory",
                ERROR,
                f"NotAlone cannot write to its data directory {root} ({exc.strerror or exc}); make this "
                f"user ({_user()}) its owner with `sudo chown -R {_user()} {root}`, or choose another "
                "with --data-dir.",
                ALL,
            )
        ]
    return [Finding("data directory", OK, f"The data directory {root} is writable.")]


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return str(os.getuid())


def check_ports(config: Config) -> list[Finding]:
    """The proxy's and the dashboard's ports (and WireGuard's, when on) are free to listen on."""
    wanted = [
        ("proxy.port", config.proxy.listen_host, config.proxy.port, socket.SOCK_STREAM, PROXY),
        ("dashboard.port", config.dashboard.host, config.dashboard.port, socket.SOCK_STREAM, DASHBOARD),
    ]
    if config.proxy.wireguard:
        wanted.append(
            (
                "proxy.wireguard_port",
                config.proxy.listen_host,
                config.proxy.wireguard_port,
                socket.SOCK_DGRAM,
                PROXY,
            )
        )
    findings = []
    for key, host, port, kind, part in wanted:
        if not port_free(host, port, kind):
            findings.append(
                Finding(
                    "ports",
                    ERROR,
                    f"Port {port} ({key}) is already in use, perhaps by another NotAlone or proxy; stop "
                    f"that program, or choose another port with --set {key}={_another(port)}.",
                    part,
                )
            )
    ports = ", ".join(str(port) for _, _, port, _, _ in wanted)
    return findings or [Finding("ports", OK, f"Ports {ports} are free.")]


def _another(port: int) -> int:
    return port + 1 if port < 65535 else port - 1


def check_ca(data_dir: DataDir) -> list[Finding]:
    """The CA certificate is there, and its private key is readable by this user alone."""
    if not data_dir.ca_cert.is_file():
        return [
            Finding(
                "CA certificate",
                OK,
                f"The CA certificate {data_dir.ca_cert} does not exist yet; the proxy creates it when it "
                "first starts.",
            )
        ]
    findings = []
    for name in CA_KEY_FILES:
        key = data_dir.confdir / name
        if key.is_file() and key.stat().st_mode & 0o077:
            findings.append(
                Finding(
                    "CA certificate",
                    ERROR,
                    f"The CA's private key {key} can be read by other users (mode "
                    f"{key.stat().st_mode & 0o777:o}), so they could read the children's traffic; run "
                    f"`chmod 600 {key}`.",
                )
            )
    return findings or [
        Finding("CA certificate", OK, f"The CA certificate {data_dir.ca_cert} is there, its key private.")
    ]


_LOOPBACK_NAMES = frozenset({"localhost"})


def _loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_network(config: Config, find_address: Callable[[], str | None] = lan_ip) -> list[Finding]:
    """The address children's devices use to reach the proxy: the box must have one, and listen on it."""
    listen = config.proxy.listen_host
    if _loopback(listen):
        return [
            Finding(
                "network address",
                WARNING,
                f"The proxy listens on {listen} only, so children's devices cannot reach it; set "
                "proxy.listen_host to empty (every interface) in config.toml.",
            )
        ]
    address = find_address() if listen in ("", "0.0.0.0", "::") else listen
    if not address:
        return [
            Finding(
                "network address",
                ERROR,
                "This machine has no address on a home network, so children's devices cannot reach the "
                "proxy; connect it to the home router (Wi-Fi or cable), then start NotAlone again.",
            )
        ]
    return [
        Finding(
            "network address",
            OK,
            f"Children's devices reach the proxy at {address}:{config.proxy.port}.",
        )
    ]


def build_date(card: Path | None = None) -> datetime.datetime | None:
    """When this NotAlone's model was built: a clock earlier than that is certainly wrong."""
    try:
        card = card or default_model_path().with_name("model-card.json")
        return datetime.datetime.fromisoformat(json.loads(card.read_text(encoding="utf-8"))["date"])
    except (ImportError, OSError, ValueError, KeyError, TypeError):
        return None


def check_clock(
    now: datetime.datetime | None = None,
    *,
    built: datetime.datetime | None = None,
    ca_cert: Path | None = None,
) -> list[Finding]:
    """The clock is not earlier than this NotAlone's build or its CA certificate's start: with a clock in
    the past, devices reject every certificate the proxy makes, and alerts get the wrong dates."""
    now = now or datetime.datetime.now(datetime.UTC)
    floors = [(built, "this NotAlone was built")] if built else []
    if ca_cert is not None and ca_cert.is_file():
        from cryptography import x509

        try:
            cert = x509.load_pem_x509_certificate(ca_cert.read_bytes())
            floors.append((cert.not_valid_before_utc, "the CA certificate was made"))
        except ValueError:
            pass
    for floor, what in floors:
        if now < floor:
            return [
                Finding(
                    "clock",
                    ERROR,
                    f"The clock says {now:%Y-%m-%d %H:%M} UTC, before {what} ({floor:%Y-%m-%d}), so "
                    "children's devices would reject secure pages; set the date and time, e.g. "
                    "`sudo timedatectl set-ntp true`.",
                )
            ]
    return [Finding("clock", OK, f"The clock says {now:%Y-%m-%d %H:%M} UTC.")]


# -- all of them -------------------------------------------------------------------------------------------
def run_checks(config: Config, data_dir: DataDir, *, ports: bool = True) -> list[Finding]:
    """Every check, in the order a parent would fix them. ``ports=False`` skips the ports (for a doctor
    run beside a running NotAlone, whose ports are taken by itself)."""
    findings = check_imports()
    findings += check_model()
    findings += check_data_dir(data_dir)
    if ports:
        findings += check_ports(config)
    findings += check_ca(data_dir)
    findings += check_network(config)
    findings += check_clock(built=build_date(), ca_cert=data_dir.ca_cert)
    return findings


def blocked_parts(findings: list[Finding]) -> dict[str, Finding]:
    """The first finding that keeps each part from running."""
    blocked: dict[str, Finding] = {}
    for finding in findings:
        if finding.blocks and finding.blocks not in blocked:
            blocked[finding.blocks] = finding
    return blocked
