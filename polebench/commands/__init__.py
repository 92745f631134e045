"""The command-line programs: ``train``, ``enjoy``, ``benchmark`` and ``export``, each a parser and a
``main``; ``train.py`` and the others in the checkout, ``polebench <command>`` and ``python -m polebench
<command>`` all run these."""
