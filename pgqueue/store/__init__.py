"""All of pgqueue's SQL, behind named operations run by a sync or an async executor."""
