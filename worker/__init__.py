"""Running the flow: Dramatiq actors, the in-process runner, the scheduler and the CLI."""
