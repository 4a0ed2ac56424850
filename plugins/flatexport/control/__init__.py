"""The control plane: who subscribes to what (``subscriptions``) and what was delivered
(``deliveries``), kept in one small SQL database so the DAGs, the CLI and customer
success all read the same truth.

Import ``ControlStore`` from ``flatexport.control.store``; this package stays import-light
so the DAG parser does not pay for SQLAlchemy until a task needs it.
"""
