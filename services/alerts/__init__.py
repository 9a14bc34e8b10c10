"""Price alerts and the engine that fires them."""
