"""One module per group of subcommands; ``notalone.cli`` imports each only when it is used."""
