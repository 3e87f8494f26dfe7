"""A simulator that measures how fast tool-choosing policies learn, against an oracle.

The layers, one module each: ``reward`` (what a call is worth), ``clock`` (simulated business
hours), ``scenarios`` (the worlds), ``streams`` (one seeded run of a world, drawn in advance so
every policy meets the same outcomes), ``policies``, ``recipe000`` and ``priors002`` (the
choosers), ``runner`` (a policy against a stream), ``metrics`` (regret, accuracy, adoption,
abandonment), ``plots`` (regret curves). ``benchmarks/learning.py`` is the command line.
"""
