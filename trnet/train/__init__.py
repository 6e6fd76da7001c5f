"""SER training: configs, data, losses, checkpoints and the one trainer of all systems."""
