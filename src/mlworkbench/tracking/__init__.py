"""The door to MLflow tracking and the model registry, shared by training, serving and the CLI."""
