import sys

from vagus.cli import main

sys.exit(main())
