"""Benchmarks and evaluations on ``../shared/media``: ``python -m bench.run`` runs them all."""
