# flatexport on the official Airflow 3.3 image (Python 3.11): the runtime lock (no test
# tools: those are in requirements-dev.txt), then the project itself. DAGs go where the
# image's Airflow looks for them; plugins/ is installed as the `flatexport` package and
# is not Airflow's plugins folder (its loader would import every file as a module).
# One image for every component: docker-compose.yaml picks the command.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root requirements.txt /opt/flatexport/requirements.txt
RUN pip install --no-cache-dir -r /opt/flatexport/requirements.txt

COPY --chown=airflow:root pyproject.toml README.md /opt/flatexport/
COPY --chown=airflow:root plugins /opt/flatexport/plugins
COPY --chown=airflow:root include /opt/flatexport/include
COPY --chown=airflow:root dags /opt/airflow/dags
# Not editable: an editable build leaves flatexport.egg-info on sys.path, and Airflow would
# then load the console plugin (an entry point) twice.
RUN pip install --no-cache-dir --no-deps /opt/flatexport

ENV FLATEXPORT_INCLUDE_DIR=/opt/flatexport/include \
    FLATEXPORT_DATA_DIR=/opt/airflow/flatexport-data \
    AIRFLOW__CORE__LOAD_EXAMPLES=False
