"""The tribe-sync page inside Airflow's UI (a plugin FastAPI app behind Airflow's login)."""
