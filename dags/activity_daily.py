"""Nightly User Activity Exporter and Unique Users exports to every subscription."""

from flatexport.airflow_support.dag_factory import build_family_dag

dag = build_family_dag("activity")
