"""Vietnamese texts of the dashboard, keyed by the English text."""

VI: dict[str, str] = {}
