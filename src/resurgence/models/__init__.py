"""Models: compositions of engine steps. They know nothing of files, processes or clusters."""
