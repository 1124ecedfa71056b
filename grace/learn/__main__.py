import sys

from grace.learn import main

sys.exit(main())
