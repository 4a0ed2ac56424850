"""Nightly Clickstream User Data export (one row per session) to every subscription."""

from flatexport.airflow_support.dag_factory import build_family_dag

dag = build_family_dag("clickstream")
