"""Applications above the kernel: the ``spenv`` command line (:mod:`spenv.apps.cli`), the
reference-agent tournament (:mod:`spenv.apps.demo`) and distributed game runs
(:mod:`spenv.apps.distributed`). Nothing in the kernel imports them."""
