"""Datasets and collators for the three training phases."""
