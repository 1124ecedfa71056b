"""Grace's custom actions, one module per capability."""
