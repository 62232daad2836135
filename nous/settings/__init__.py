"""Runtime settings: typed, validated, stored in the database, applied in every process within a second."""
