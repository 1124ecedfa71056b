"""Code shared by Grace's actions, connectors, CLI and (later) the web app."""
