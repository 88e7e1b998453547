"""The mitmproxy addon: flows become text, text becomes scores, scores become alerts in the alert store."""
