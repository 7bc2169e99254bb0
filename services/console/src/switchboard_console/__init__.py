"""Console gateway: the operator console's static bundle and its APIs from one origin."""
