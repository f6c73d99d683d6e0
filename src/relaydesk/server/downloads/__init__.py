"""What a customer downloads to start the support client: launcher scripts and the agent wheel."""
