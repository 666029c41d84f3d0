"""Benchmark commands: ``python -m photoz_debias.bench.<name>``, each prints a table."""
