"""Whole-cluster questions answered from the compiled form: expectations, matrix."""
