"""A sign-in page that claims a brand is checked against the address it is served from: a clone elsewhere is
phishing, the brand's own page on the brand's own host is not, and a page's links never count."""

from __future__ import annotations

import pytest

from classifier.brands import claimed_brand, impersonates, served_by_brand, sign_in_brand
from classifier.extract import extract_visible_text

FACEBOOK_CLONE = (
    "<!doctype html><html><head><title>Log in to Facebook</title></head><body>"
    "<h2>Facebook helps you connect and share with the people in your life.</h2>"
    "<form method='post'><input name='email' placeholder='Email address or phone number'>"
    "<input name='pass' type='password' placeholder='Password'><button>Log in</button></form>"
    "<a href='https://www.facebook.com/recover'>Forgotten password?</a></body></html>"
)
# A fake Free Fire prize site's "log in with Facebook" step, in Vietnamese; a script draws its password field.
VI_CLONE = (
    "<html><head><title>Đăng Nhập Facebook</title></head><body><p>Đăng nhập để nhận quà</p>"
    "<div id='form'></div><script>draw()</script></body></html>"
)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://127.0.0.1:8443/signin", "127.0.0.1"),
        ("http://facebook.com.account-verify.xyz/login.php", "facebook.com.account-verify.xyz"),
        ("https://nhan-qua-free-fire.vn/fb/", "nhan-qua-free-fire.vn"),
    ],
)
def test_a_brands_sign_in_page_elsewhere_is_a_high_phishing_alert_naming_why(shipped_model, url, host):
    score = shipped_model.score_page(FACEBOOK_CLONE, url=url)
    assert (score.alert, score.severity, score.scam_kind) == ("scam", "high", "phishing")
    assert score.evidence[0] == f"a Facebook sign-in page on {host}"
    assert shipped_model.with_url_reputation(score, url) == score  # applied once


def test_a_vietnamese_clone_whose_password_field_a_script_draws_is_caught_by_its_title(shipped_model):
    score = shipped_model.score_page(VI_CLONE, url="http://qua-tang-ff.com/login")
    assert score.alert == "scam" and score.evidence[0] == "a Facebook sign-in page on qua-tang-ff.com"


@pytest.mark.parametrize(
    "url", ["https://www.facebook.com/login/", "https://m.facebook.com/", "https://fb.com"]
)
def test_the_brands_own_sign_in_page_on_its_own_host_is_no_scam(shipped_model, url):
    score = shipped_model.score_page(FACEBOOK_CLONE, url=url)
    assert score.alert is None and score.scam == 0.0


def test_a_listed_page_on_the_brands_own_host_is_still_known_phishing(shipped_model):
    score = shipped_model.score_page(FACEBOOK_CLONE, url="https://www.facebook.com/BVCHORAY")
    assert score.alert == "scam" and score.evidence[0] == "known phishing site: facebook.com/bvchoray"


def test_pages_that_name_a_brand_without_being_its_sign_in_page_are_left_to_the_text(shipped_model):
    spotify = "<title>Login with Facebook | Spotify</title><p>Continue with Facebook</p><input type=password>"
    news = "<title>Facebook launches a privacy centre</title><p>The company said on Tuesday that users...</p>"
    for html, url in (
        (spotify, "https://accounts.spotify.com/en/login"),
        (news, "https://news.example/tech"),
    ):
        assert shipped_model.score_page(html, url=url) == shipped_model.score_page(html)


def test_user_content_on_a_brands_domain_is_not_the_brands_own_page():
    assert served_by_brand("Google", "accounts.google.com")
    assert not served_by_brand("Google", "sites.google.com")
    assert not served_by_brand("Google", "docs.google.com")
    assert not impersonates("Google", "Google Account sign in", "sites.google.com")  # left to the text
    assert impersonates("Microsoft", "Sign in to your Microsoft account", "docs.google.com")


def test_what_makes_a_page_a_brands_sign_in_page():
    assert sign_in_brand(extract_visible_text(FACEBOOK_CLONE)) == "Facebook"
    assert sign_in_brand(extract_visible_text(VI_CLONE)) == "Facebook"
    # A password field in the page's navigation is boilerplate, and a title naming no brand claims none.
    in_nav = "<title>Roblox</title><nav><input type=password></nav><p>Welcome to the games list</p>"
    assert sign_in_brand(extract_visible_text(in_nav)) == ""
    assert sign_in_brand(extract_visible_text("<title>Sign in</title><input type=password>")) == ""
    assert claimed_brand("Steam Community :: Login") == "Steam"
    assert claimed_brand("ĐĂNG NHẬP ZALO") == "Zalo"
    assert claimed_brand("Homework help") == ""
    assert not impersonates("Facebook", "Login with Facebook | BBC", "account.bbc.co.uk")
    assert impersonates("Facebook", "Facebook 2.0 login", "10.0.0.2")  # an IP address names no site
