"""The command-line programs of one run: ``train``, ``enjoy`` and ``export``, each a parser and a ``main``;
``train.py`` and the others in the checkout, ``polebench <command>`` and ``python -m polebench <command>`` all
run these. ``benchmark``, which runs ``train`` for every job of a grid, is :mod:`polebench.bench.cli`."""
