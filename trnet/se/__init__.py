"""Speech-enhancement front-end (recipe stage 3): config, training, enhancement, scoring."""
