"""Reproducible benchmark of the back-office at realistic volume: generator, runner (`make bench`), load test."""
