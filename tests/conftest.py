"""Fixtures shared by every test package."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import pytest

from classifier.datasets import DEFAULT_SHARED_DATA

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not DEFAULT_SHARED_DATA.is_dir():
        pytest.fail(f"the shared datasets are expected beside the project at {DEFAULT_SHARED_DATA}")
    return DEFAULT_SHARED_DATA


@pytest.fixture(scope="session")
def shipped_model():
    """The committed model in models/ (its integrity is checked on load)."""
    from classifier.model import RiskModel

    return RiskModel.load()


# The fetched repositories' files as their snapshots hold them (classifier.fetched_pages and
# classifier.fetched_chat), small and harmless.
MIRROR_SNAPSHOTS = {
    "mozilla/readability": {
        "test/test-pages/city-news/source.html": (
            "<html><head><title>Council approves new cycle lanes</title></head><body><nav>Log in Sign up"
            "</nav><article><p>The city council voted on Tuesday to build twelve kilometres of protected"
            " cycle lanes along the river, after a year of public meetings. Work starts in spring and the"
            " mayor said the first section should open before the school holidays.</p></article>"
            "</body></html>"
        ),
        "test/test-pages/city-news/expected.html": "<p>not a source page</p>",
    },
    "scrapinghub/article-extraction-benchmark": {
        "html/0001.html.gz": gzip.compress(
            b"<html><head><title>Local team wins the cup</title></head><body><p>Supporters filled the square"
            b" on Saturday night as the local team lifted the cup for the first time in forty years. The"
            b" captain thanked the youth coaches who trained most of the squad as children.</p></body></html>"
        ),
    },
    "hhursev/recipe-scrapers": {
        "tests/test_data/example.com/soup.testhtml": (
            "<html><head><title>Tomato soup | Recipes</title></head><body><p>Free shipping on orders over"
            " $50. Saved. Ingredients: six ripe tomatoes, one onion, two cloves of garlic, olive oil, salt."
            " Roast the tomatoes for twenty minutes, blend with the softened onion and garlic, and season to"
            " taste. Serves four.</p></body></html>"
        ),
        "tests/test_data/example.com/short.testhtml": "<title>x</title><p>too short</p>",
    },
    "duckduckgo/duckduckgo-autofill": {
        "test-forms/bank_example_login.html": (
            "<form><h2>Sign in to Online Banking</h2><label>Customer number</label><input name='id'>"
            "<label>Password</label><input type='password'><a href='/forgot'>Forgot your password?</a>"
            "<button>Log in</button><p>New to online banking? Register now. Never share your one-time"
            " passcode with anyone, not even us. Questions? Call us on the number on the back of your card."
            " Security centre. Privacy. Accessibility.</p></form>"
        ),
        "test-forms/bank_example_checkout.html": "<form>not a login or sign-up form</form>",
    },
    "pro-misee/uk-cyber-fraud-assistant-work": {
        "data_sources_v3/advice/scraped/advice.json": json.dumps(
            [
                {
                    "url": "https://advice.example.org/gift-card-scams",
                    "title": "Gift card scams",
                    "content": "# Gift card scams\n\nScammers may tell you that you have **won a prize** and"
                    " ask you to pay a fee in gift cards. No real company asks to be paid in gift cards. If"
                    " someone asks, stop, hang up and talk to someone you trust. Report it to Action Fraud.",
                },
                {"url": "https://advice.example.org/empty", "title": "Empty", "content": ""},
            ]
        ),
    },
    # Phishing kits and fake prize pages, as harmless stand-ins for the real ones.
    "htr-tech/zphisher": {
        ".sites/examplebank/login.html": (
            "<html><head><title>Example Bank - Sign in</title></head><body><form><h1>Sign in</h1>"
            "<input placeholder='Email or phone'><input type='password'><button>Next</button>"
            "<a>Forgot password?</a></form></body></html>"
        ),
        ".sites/examplebank/ip.php": "<?php file_put_contents('ip.txt', $_SERVER['REMOTE_ADDR']); ?>",
    },
    "DarkSecDevelopers/HiddenEye": {
        "WebPages/examplemail/index.html": (
            "<html><head><title>Example Mail</title></head><body><form><p>Your mailbox is almost full."
            " Sign in to keep receiving messages.</p><input name='u'><input name='p' type='password'>"
            "<button>Sign in</button></form></body></html>"
        ),
    },
    "ag-michael/phishingkits": {
        "semotem99.com/toda/office.php": (
            "<?php $notice = 'kit settings that never reach the page'; include 'antibot.php'; ?>"
            "<html><head><title>One Drive</title></head><body><p>A document has been shared with you. Sign in"
            " with your e-mail account to view it.</p><?= $notice ?><form><input name='email'><input"
            " name='password' type='password'><button>View document</button></form></body></html>"
        ),
        # macOS's archive litter beside the kit: Finder metadata, never a page.
        "semotem99.com/__MACOSX/toda/._office.php": (
            b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02\x00\x00ATTR\x00\x00"
            b"com.apple.quarantine q/0083;5c509786;Safari;456F227 com.apple.lastuseddate#PS"
        ),
        "semotem99.com/toda/microsoft.php": (
            "<html><head><title>Sign in to your Microsoft account</title></head><body><form><p>Enter password"
            " for your account to continue to the shared file.</p><input type='password'><button>Sign in"
            "</button></form></body></html>"
        ),
    },
    "dinhvan2310/html": {
        "themes/theme1/index.php": (
            "<?php session_start(); ?><html><head><title>Vòng quay may mắn Free Fire</title></head><body>"
            "<p>Bạn có 1 lượt quay miễn phí. Đăng nhập tài khoản để nhận quà sự kiện ngay hôm nay!</p>"
            "<button>Đăng nhập</button></body></html>"
        ),
    },
    "barnacl437/scampages-datamine": {
        "archive/type/steamcommunity.com/2025/01/steamgift-example.com/index.html": (
            "<html><head><title>Steam Gift Activation</title></head><body><p>You have received a gift card."
            " Sign in through Steam to activate it on your account.</p><button>Sign in</button></body></html>"
        ),
    },
    # Children's own chat lines (classifier.fetched_chat), as harmless stand-ins for the real logs.
    "0ysterAreGod/Roblox_Chat_Logs": {
        "Log_2025-11-26_07-55-54.txt": (
            "==================================================\n"
            "GAME: hangout [1]\nTOTAL PLAYERS: 3\n"
            "==================================================\n\n"
            "[07:14:51] [Dist:13] [Days:1437] [ID:31] Sky (@skyblue_22): who wants to play tag\n"
            "[07:14:55] [Dist:40] [Days:12] [ID:42] Leo (@LeoTheLion): ok\n"
            "[07:15:02] [Dist:40] [Days:12] [ID:42] Leo (@LeoTheLion): ;fly me\n"
            "[07:15:09] [Dist:40] [Days:12] [ID:42] Leo (@LeoTheLion): i love ur avatar fr\n"
            "[07:15:12] [Dist:13] [Days:1437] [ID:31] Sky (@skyblue_22): WHO WANTS TO PLAY TAG\n"
        ),
        "README.md": "Chat logs of public hangout servers.\n",
    },
    "kulkarohan/reddit-recommender": {
        "data/teenagers.csv": (
            "post_id,title\n"
            "a1,my mom said i can get a dog if my grades go up\n"
            "a2,lol\n"
            'a3,"anyone else think math homework is, like, way too long"\n'
        ),
    },
    "Roblox/creator-docs": {
        "content/en-us/production/earning-on-roblox.md": (
            "---\ntitle: Earning on Roblox\ndescription: Ways to earn Robux.\n---\n\n## Overview\n\n"
            "Creators earn **Robux** when people buy [passes](../monetization/passes.md) in their"
            " experiences. ![chart](../assets/chart.png) Robux you earn can be exchanged through the"
            " <a href='https://create.roblox.com/devex'>Developer Exchange</a> program once you meet its"
            " requirements, such as being at least thirteen and having a verified email address.\n"
        ),
    },
}


def build_snapshot_mirror(root: Path) -> Path:
    """Bare git snapshots of the fetched repositories, laid out as ``fetch`` lays them out."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    for repository, files in MIRROR_SNAPSHOTS.items():
        work = root / "work" / repository.replace("/", "+")
        for path, content in files.items():
            target = work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else content.encode())
        subprocess.run(["git", "init", "-q", str(work)], check=True, env=env)
        subprocess.run(["git", "-C", str(work), "add", "-A"], check=True, env=env)
        subprocess.run(["git", "-C", str(work), "commit", "-q", "-m", "pages"], check=True, env=env)
        bare = root / repository.replace("/", "+") / "repo"
        subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True, env=env)
    return root


@pytest.fixture(scope="session", autouse=True)
def snapshot_mirror(tmp_path_factory) -> Path:
    """Every test reads the fetched pages and chat lines from this small mirror, never from the machine's
    own, so training on a slice reads the same text here and in CI."""
    root = build_snapshot_mirror(tmp_path_factory.mktemp("mirror"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NOTALONE_PAGE_MIRROR", str(root))
        yield root
