"""``python -m api.cli``: the same as ``registry``."""

from api.cli import main

main()
