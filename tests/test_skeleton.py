"""The walking skeleton: home pages per role, users and invitations, isolation, headers."""

from __future__ import annotations

import re

from tests.conftest import run


def test_anonymous_home_redirects_to_sign_in(client):
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 303)
    assert r.headers["location"].startswith("/signin")


def test_signin_page_is_vietnamese_by_default_and_has_security_headers(client):
    r = client.get("/signin")
    assert r.status_code == 200
    assert "Đăng nhập" in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"]
    assert "<script>" not in r.text  # no inline script


def test_language_switch_to_english(client):
    r = client.get("/lang/en?next=/signin")
    assert r.status_code == 200 and "Sign in with passkey" in r.text


def test_home_names_user_and_commune(world, as_user):
    r = as_user(world["alice"]).get("/")
    assert r.status_code == 200
    assert "Lê Thị Hoa" in r.text and "Xã Hoằng Kim" in r.text
    assert r.headers["cache-control"] == "no-store"
    r = as_user(world["eve"]).get("/")
    assert "Tỉnh Thanh Hóa" in r.text


def test_official_invites_a_volunteer_and_gets_link_and_qr(world, as_user):
    alice = as_user(world["alice"])
    r = alice.post("/users", data={"display_name": "Đỗ Văn Giang", "role": "volunteer"})
    assert r.status_code == 200, r.text
    assert "<svg" in r.text
    link = re.search(r'value="(http://localhost:8000/enrol/[^"]+)"', r.text)
    assert link
    assert r.headers["cache-control"] == "no-store"
    page = alice.get(link.group(1).replace("http://localhost:8000", ""))
    assert page.status_code == 200 and "Đỗ Văn Giang" in page.text


def test_invite_form_shows_every_error_and_keeps_input(world, as_user):
    r = as_user(world["alice"]).post("/users", data={"display_name": "", "role": "boss",
                                                     "phone": "abc<script>"})
    assert r.status_code == 422
    assert r.text.count('class="field-error"') == 3
    assert "abc&lt;script&gt;" in r.text


def test_users_page_wrong_role_and_anonymous(world, as_user, client):
    assert as_user(world["bob"]).get("/users").status_code == 403
    assert as_user(world["eve"]).get("/users").status_code == 403
    r = client.get("/users", follow_redirects=False)
    assert r.status_code in (302, 303)


def test_other_commune_user_is_404(world, as_user):
    dave = as_user(world["dave"])
    assert dave.post(f"/users/{world['bob']}/revoke").status_code == 404
    assert dave.post(f"/users/{world['bob']}/invite").status_code == 404


def test_post_without_csrf_is_refused(world, as_user):
    alice = as_user(world["alice"])
    del alice.headers["x-csrftoken"]
    r = alice.post("/users", data={"display_name": "X", "role": "volunteer"})
    assert r.status_code == 403


def test_unknown_enrolment_token_is_a_clear_page(client):
    r = client.get("/enrol/nonsense-token")
    assert r.status_code == 404
    assert "không hợp lệ" in r.text


def test_settings_are_all_in_the_readme():
    from pathlib import Path

    from server.settings import SETTINGS

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in readme]
    assert not missing, f"settings missing from README: {missing}"


def test_scripts_are_all_listed():
    from pathlib import Path

    scripts = Path(__file__).parent.parent / "scripts"
    listed = (scripts / "README.md").read_text()
    missing = [p.name for p in scripts.iterdir()
               if not p.name.startswith(("_", ".")) and p.name != "README.md"
               and f"`{p.name}`" not in listed]
    assert not missing, f"scripts missing from scripts/README.md: {missing}"


def test_areas_listing(world):
    from server.areas.queries import list_areas

    rows = run(list_areas())
    levels = {r["code"]: r["level"] for r in rows}
    assert levels["TH"] == "province" and levels["HK"] == "commune"
    assert levels["HK-01"] == "village"


def _cli(env: dict[str, str], *args: str) -> str:
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, text=True,
                          capture_output=True, cwd=Path(__file__).parent.parent, check=True)
    return done.stdout + done.stderr


def test_link_scripts_print_links_for_the_port_the_server_uses(tmp_path):
    import os

    base = {k: v for k, v in os.environ.items()
            if k not in ("PORT", "PUBLIC_ORIGIN", "DATABASE_URL")}
    base["SQLITE_PATH"] = str(tmp_path / "db.sqlite")
    # What scripts/serve runs first, with the server's environment (here a port of its own).
    out = _cli({**base, "PORT": "8731"}, "serve-prepare")
    assert re.search(r"^http://localhost:8731/enrol/\S+$", out, re.M)
    assert "Serving on http://localhost:8731 (bound to 127.0.0.1:8731)" in out
    assert "each start of scripts/serve replaces it" in out
    assert "SQLITE doesn't support" not in out and "localhost:8000" not in out
    # Another shell, PORT no longer set: the links point at the server that runs.
    link = _cli(base, "enrol-link", "--name", "Vũ Minh Đức").strip()
    assert re.fullmatch(r"http://localhost:8731/enrol/\S+", link)
    out = _cli(base, "invite", "--role", "volunteer", "--area", "HK", "--name", "Hà Văn Mới")
    assert re.search(r"^http://localhost:8731/enrol/\S+$", out, re.M)
    # Set explicitly, PORT or PUBLIC_ORIGIN win (a link for another server on purpose).
    link = _cli({**base, "PORT": "9100"}, "enrol-link", "--name", "Vũ Minh Đức").strip()
    assert link.startswith("http://localhost:9100/enrol/")
    link = _cli({**base, "PUBLIC_ORIGIN": "https://donghanh.example.vn"}, "enrol-link",
                "--name", "Vũ Minh Đức").strip()
    assert link.startswith("https://donghanh.example.vn/enrol/")
