-- Runs once, when the PostgreSQL volume is created (docker-entrypoint-initdb.d): the
-- control database (subscriptions, delivery log) beside Airflow's metadata database.
CREATE DATABASE flatexport OWNER airflow;
