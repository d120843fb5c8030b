# The Airflow image with tribe-sync's pinned dependencies and package installed.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:0 requirements.txt pyproject.toml /opt/tribe-sync/
COPY --chown=airflow:0 plugins /opt/tribe-sync/plugins
COPY --chown=airflow:0 alembic.ini /opt/tribe-sync/alembic.ini
COPY --chown=airflow:0 migrations /opt/tribe-sync/migrations
RUN pip install --no-cache-dir -r /opt/tribe-sync/requirements.txt \
 && pip install --no-cache-dir --no-deps -e /opt/tribe-sync
