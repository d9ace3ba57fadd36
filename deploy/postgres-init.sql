-- The second database of the stack (the first, mlflow, is POSTGRES_DB): the mlworkbench data store.
CREATE DATABASE mlwb;
