"""The pages NotAlone shows a child at notalone.home.arpa: help, warnings, what NotAlone does, device
set-up. ``ChildPages`` (the addon) serves them; ``app`` is the Flask app it mounts."""

from proxy_addon.child_pages.addon import ChildPages, warning_url
from proxy_addon.child_pages.app import CLICK_HEADERS, HELP_URL, HOST, ORIGIN

__all__ = ["CLICK_HEADERS", "HELP_URL", "HOST", "ORIGIN", "ChildPages", "warning_url"]
