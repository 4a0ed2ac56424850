"""On-demand exports: one report for one org now, e-mailed to the admin who asked
(trigger it with a conf, from the trigger form, or with `flatexport request`)."""

from flatexport.airflow_support.on_demand import build_on_demand_dag

dag = build_on_demand_dag()
