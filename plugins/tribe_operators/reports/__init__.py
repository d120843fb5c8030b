"""What a run did, for people: the summary task's tables, the DAG-run note, the tribe-sync page's data."""
