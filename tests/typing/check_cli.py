# The command line's entry point takes a sequence of strings.
from typing import assert_type

from osv_idioms._cli import main

assert_type(main(["tour", "--list"]), int)
main(42)  # E: arg-type
