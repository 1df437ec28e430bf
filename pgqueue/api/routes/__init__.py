"""The admin routes under `/api/v1/jobs`, one module per concern."""
