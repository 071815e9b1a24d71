"""``python -m netfence``."""

from netfence.cli.main import main

main()
