"""Likelihood-free Bayesian inference of model parameters from observed patterns (ABC-SMC).

- :mod:`~resurgence.inference.priors`: the priors file (TOML) -> validated settings
- :mod:`~resurgence.inference.smc`: the inference (pyabc's ABC-SMC), resumable
- :mod:`~resurgence.inference.sampler`, :mod:`~resurgence.inference.seeds`: a sampler whose
  result depends on the seed alone, on any executor
- :mod:`~resurgence.inference.simulator`: model, summary statistics (pattern values) and
  distance (the patterns' misses of their ranges)
- :mod:`~resurgence.inference.history`, :mod:`~resurgence.inference.epsilon`: the stored
  generations and the tolerance schedule read from them
- :mod:`~resurgence.inference.identification`: which parameters the patterns identify
- :mod:`~resurgence.inference.draws`: parameter sets drawn from a posterior
- :mod:`~resurgence.inference.job`: a priors file run into a folder (``calibrate --priors``)

Importing this package imports no pyabc (slow to import); the modules that need it do.
"""
