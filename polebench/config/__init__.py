"""A run's configuration: the typed :class:`~polebench.config.run_config.RunConfig` every entry point
builds, the hyperparameter files and their layering, safe YAML reading, and the provenance recorded
beside them."""
