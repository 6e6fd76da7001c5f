"""System kinds: what a config's ``model.kind`` selects (:mod:`trnet.systems.registry`)."""
