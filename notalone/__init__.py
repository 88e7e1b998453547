"""NotAlone's command line and configuration: wires the classifier, the proxy addon and the dashboard."""

__version__ = "0.1.0"
