"""Nightly planroom first-access reports (detailed and summary) to every subscription."""

from flatexport.airflow_support.dag_factory import build_family_dag

dag = build_family_dag("planroom")
