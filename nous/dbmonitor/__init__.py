"""Database performance monitor: statement timing, slow-query plans, index suggestions."""
