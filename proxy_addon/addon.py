"""NotAlone's mitmproxy addons: see what children see, score it in the scoring process, keep the alerts.

Run them with ``notalone proxy`` or as a script:
``mitmdump -s proxy_addon/addon.py --set notalone_data_dir=DIR``.
Every hook is fail-open: whatever goes wrong in extraction or scoring, the flow passes untouched (counted).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("proxy_addon") is None:  # loaded by path, as a mitmproxy script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from proxy_addon.blind_spots import BlindSpots
from proxy_addon.capture import Capture
from proxy_addon.child_pages import ChildPages
from proxy_addon.client_access import ClientAccess
from proxy_addon.guard import Guard
from proxy_addon.lifecycle import Lifecycle, ScoringFactory, process_scoring
from proxy_addon.state import ProxyState


def make_addons(scoring_factory: ScoringFactory = process_scoring) -> list[object]:
    """The whole proxy, in hook order: who may connect and where, NotAlone's own pages, blind spots,
    capture (monitor), the warn/block guard; Lifecycle owns options, the worker and the scoring process."""
    state = ProxyState()
    lifecycle = Lifecycle(state, scoring_factory)
    pages = ChildPages(
        identify=state.identify,
        allows_client=lambda address: (
            state.settings is not None and state.settings.home_ranges.allows(address)
        ),
    )
    return [
        ClientAccess(state),  # first: refuses clients and destinations before anything reads a flow
        lifecycle,
        pages,
        BlindSpots(state),
        Capture(state),
        Guard(state, pages),
    ]


addons = make_addons()
