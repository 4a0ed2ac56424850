"""The customer-success console: a small server-rendered web app inside Airflow 3.

Orgs, their subscriptions and their deliveries; add, edit, enable, disable, remove and
test a destination; re-deliver a day or a range through Airflow's own API; the quality
checks of a blocked day. It is an Airflow plugin (``plugin.py``): the api-server mounts
the FastAPI app (``app.py``) and Airflow's navigation links to it. Every request is
authenticated and authorised by Airflow's auth manager (``security.py``), and every
change goes through ``flatexport.control.operations``, the code behind the CLI.
"""
