# The Airflow image with tribe-sync's pinned dependencies and package installed. The test tools
# of requirements.txt (pytest, hypothesis, ruff, import-linter, the Odoo test client) are left
# out: the image runs DAGs and the simulators, not the suite.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:0 requirements.txt pyproject.toml /opt/tribe-sync/
COPY --chown=airflow:0 plugins /opt/tribe-sync/plugins
COPY --chown=airflow:0 include /opt/tribe-sync/include
COPY --chown=airflow:0 alembic.ini /opt/tribe-sync/alembic.ini
COPY --chown=airflow:0 migrations /opt/tribe-sync/migrations
RUN grep -vE '^(pytest|pytest-timeout|pytest-xdist|hypothesis|sortedcontainers|ruff|import-linter|grimp|odoorpc|odoo-client-lib|exactonline|trustme)==' \
      /opt/tribe-sync/requirements.txt > /tmp/runtime-requirements.txt \
 && pip install --no-cache-dir -r /tmp/runtime-requirements.txt \
 && pip install --no-cache-dir --no-deps -e /opt/tribe-sync
