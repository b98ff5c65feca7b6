"""The CaD (configuration as data) engine: every package operation of the API goes through it."""
