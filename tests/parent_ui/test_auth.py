"""First run, login, logout, password change, the route gate, CSRF, rate limit and session fixation."""

from __future__ import annotations

from dashboard_helpers import PASSWORD, csrf_from
from werkzeug.routing import Rule

from parent_ui import PUBLIC_ENDPOINTS


def _example_path(rule: Rule) -> str:
    values = {
        arg: {
            "alert_id": 1,
            "incident_id": 1,
            "name": "An",
            "platform": "windows",
            "filename": "style.css",
        }.get(arg, "x")
        for arg in rule.arguments
    }
    return rule.build(values, append_unknown=False)[1]


def test_setup_gates_everything_until_done(fresh_app):
    client = fresh_app.test_client()
    for rule in fresh_app.url_map.iter_rules():
        if rule.endpoint in ("static", "setup.setup") or "GET" not in rule.methods:
            continue
        response = client.get(_example_path(rule))
        assert response.status_code == 302 and response.headers["Location"].endswith("/setup"), rule


def test_setup_refuses_short_password_and_no_children(fresh_app):
    client = fresh_app.test_client()
    token = csrf_from(client.get("/setup").get_data(as_text=True))
    response = client.post(
        "/setup", data={"csrf_token": token, "password": "short", "confirm": "short", "children": " \n "}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "at least 8 characters" in page and "at least one child" in page


def test_setup_stores_a_scrypt_hash_and_children(app, store):
    assert store.settings()["auth.password_hash"].startswith("scrypt:")
    assert PASSWORD not in str(store.settings())
    assert list(store.children()) == ["An", "Binh"]


def test_every_route_refuses_an_unauthenticated_request(app, client):
    token = csrf_from(client.get("/login").get_data(as_text=True))  # a valid token, but no login
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        path = _example_path(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, data={"csrf_token": token})
            assert response.status_code == 302, (method, path, response.status_code)
            assert "/login" in response.headers["Location"], (method, path)
            checked += 1
    assert checked >= 20


def test_public_endpoints_are_only_login_setup_language_and_static():
    assert frozenset({"static", "auth.login", "setup.setup", "i18n.set_language"}) == PUBLIC_ENDPOINTS


def test_login_logout_and_wrong_password(client, auth):
    assert auth.login("wrong password").status_code == 401
    assert client.get("/alerts/").status_code == 302
    response = auth.login()
    assert response.status_code == 302
    assert client.get("/alerts/").status_code == 200
    auth.logout()
    assert client.get("/alerts/").status_code == 302


def test_login_redirects_only_to_local_next(client, auth):
    token = auth.csrf()
    response = client.post(
        "/login", data={"csrf_token": token, "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert response.headers["Location"] == "/alerts/"


def test_forms_without_csrf_token_are_refused(app, client, auth, store):
    from dashboard_helpers import make_alert

    alert_id = store.add(make_alert())
    auth.login()
    for path in (
        f"/alerts/{alert_id}/reviewed",
        f"/alerts/{alert_id}/delete",
        "/settings/purge",
        "/settings/reset",
        "/children/add",
        "/logout",
        "/password",
        "/language",
    ):
        assert client.post(path, data={"name": "Eve"}).status_code == 400, path
        assert client.post(path, data={"csrf_token": "forged", "name": "Eve"}).status_code == 400, path
    assert store.get(alert_id) is not None and not store.get(alert_id).reviewed
    assert "Eve" not in store.children()
    assert client.post("/login", data={"password": PASSWORD}).status_code == 400


def test_login_is_rate_limited_per_client_address(app, client, auth):
    other = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert auth.login("nope nope nope").status_code == 401
    locked = auth.login()  # even the right password is refused while locked
    assert locked.status_code == 429
    assert client.get("/alerts/").status_code == 302
    token = csrf_from(other.get("/login").get_data(as_text=True))
    response = other.post(
        "/login",
        data={"csrf_token": token, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "192.168.1.77"},
    )
    assert response.status_code == 302


def test_lockout_ends_after_the_window(monkeypatch):
    import limits.storage.memory

    from parent_ui.security import LoginThrottle

    clock = [1000.0]
    monkeypatch.setattr(limits.storage.memory, "time", type("Clock", (), {"time": lambda: clock[0]}))
    throttle = LoginThrottle(max_failures=5, window_s=900, max_failures_all=20)
    for _ in range(5):
        throttle.record_failure("10.0.0.2")
    assert throttle.locked_for("10.0.0.2") > 0
    assert throttle.locked_for("10.0.0.3") == 0
    clock[0] += 901
    assert throttle.locked_for("10.0.0.2") == 0


def test_guesses_from_many_addresses_are_capped_for_everyone_but_the_box(app):
    cap = app.config["LOGIN_MAX_FAILURES_ALL"]
    outcomes = []
    for n in range(150):  # 30 addresses x 5 guesses, each address within its own limit
        guesser = app.test_client()
        token = csrf_from(guesser.get("/login").get_data(as_text=True))
        response = guesser.post(
            "/login",
            data={"csrf_token": token, "password": f"guess {n}"},
            environ_base={"REMOTE_ADDR": f"192.168.1.{100 + n // 5}"},
        )
        outcomes.append(response.status_code)
    assert outcomes[:cap] == [401] * cap
    assert outcomes[cap:] == [429] * (150 - cap)

    parent_on_lan = app.test_client()
    token = csrf_from(parent_on_lan.get("/login").get_data(as_text=True))
    lan = parent_on_lan.post(
        "/login",
        data={"csrf_token": token, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "192.168.1.5"},
    )
    assert lan.status_code == 429  # even the right password waits for the window
    parent_at_the_box = app.test_client()
    token = csrf_from(parent_at_the_box.get("/login").get_data(as_text=True))
    box = parent_at_the_box.post("/login", data={"csrf_token": token, "password": PASSWORD})
    assert box.status_code == 302 and parent_at_the_box.get("/alerts/").status_code == 200


def test_session_fixation_a_planted_session_does_not_become_logged_in(app, client, auth):
    client.get("/login")
    planted = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    token_before = auth.csrf()
    auth.login()
    after = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    assert after != planted
    assert auth.csrf("/alerts/") != token_before  # the CSRF token is new after login

    attacker = app.test_client()
    attacker.set_cookie(app.config["SESSION_COOKIE_NAME"], planted)
    assert attacker.get("/alerts/").status_code == 302


def test_a_cookie_replayed_after_logout_opens_nothing(app, client, auth, store):
    auth.login()
    assert client.get("/alerts/").status_code == 200
    kept = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value  # what an eavesdropper keeps

    auth.logout()

    replay = app.test_client()
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], kept)
    for path in ("/alerts/", "/settings/", "/children/", "/overview/"):
        response = replay.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    token = csrf_from(replay.get("/login").get_data(as_text=True))
    assert replay.post("/settings/purge", data={"csrf_token": token}).status_code == 302
    assert "/login" in replay.post("/settings/purge", data={"csrf_token": token}).headers["Location"]


def test_a_cookie_from_before_a_password_change_opens_nothing(app, client, auth):
    auth.login()
    kept = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    token = auth.csrf("/password")
    client.post(
        "/password",
        data={
            "csrf_token": token,
            "current": PASSWORD,
            "password": "another password",
            "confirm": "another password",
        },
    )
    replay = app.test_client()
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], kept)
    assert replay.get("/alerts/").status_code == 302


def test_password_change_logs_out_other_sessions(app, client, auth):
    auth.login()
    other = app.test_client()
    token = csrf_from(other.get("/login").get_data(as_text=True))
    other.post("/login", data={"csrf_token": token, "password": PASSWORD})
    assert other.get("/alerts/").status_code == 200

    token = auth.csrf("/password")
    response = client.post(
        "/password",
        data={
            "csrf_token": token,
            "current": PASSWORD,
            "password": "a new long password",
            "confirm": "a new long password",
        },
    )
    assert response.status_code == 302
    assert client.get("/alerts/").status_code == 200
    assert other.get("/alerts/").status_code == 302
    auth.logout()
    assert auth.login(PASSWORD).status_code == 401
    assert auth.login("a new long password").status_code == 302


def test_cookies_and_security_headers(app, client, auth):
    response = auth.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/alerts/")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "<script" not in page.get_data(as_text=True)


def test_secret_key_is_kept_private_in_the_data_dir(app, data_dir):
    key_file = data_dir / "dashboard-secret.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    from parent_ui import create_app

    again = create_app({"TESTING": True, "DATA_DIR": str(data_dir)})
    assert again.secret_key == app.secret_key == key_file.read_bytes()


def test_reset_password_command(runner, client, auth):
    result = runner.invoke(args=["reset-password", "--password", "brand new password"])
    assert result.exit_code == 0, result.output
    assert auth.login(PASSWORD).status_code == 401
    assert auth.login("brand new password").status_code == 302
