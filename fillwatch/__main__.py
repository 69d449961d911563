"""`python -m fillwatch` is the same program as the `fillwatch` script."""

from fillwatch.cli.app import main

main()
