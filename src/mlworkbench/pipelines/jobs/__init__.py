"""The jobs service: train, tune, promote and pipeline runs over HTTP, rows in the data store."""
