"""The engine: grid geometry and numba kernels. Knows nothing of any theatre or conflict."""
