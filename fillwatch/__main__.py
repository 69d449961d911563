"""`python -m fillwatch` is the same program as the `fillwatch` script."""

from fillwatch.cli import main

main()
