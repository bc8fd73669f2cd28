"""Real servers for the tests, started by fixtures; under CI=true a missing one fails."""
