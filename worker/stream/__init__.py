"""The streaming shell: Faust app, agents, topics, metrics and health around the core."""
