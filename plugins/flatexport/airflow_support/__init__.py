"""Airflow glue: the DAG factory, the task bodies and an in-process runner.

Kept apart from the engine so the CLI and tests can use the engine without Airflow's
import cost, and so DAG files stay a single line.
"""
