import sys

from rnnshape.cli.app import main

sys.exit(main())
