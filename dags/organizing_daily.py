"""Nightly organizing reports (users, teams, contacts, actions, messages, outreach reports,
tags, custom fields, video stories), each the history of its scope up to the night's
cutoff, to every subscription."""

from flatexport.airflow_support.dag_factory import build_family_dag

dag = build_family_dag("organizing")
