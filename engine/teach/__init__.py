"""Hand-written maths of the explorer pages, apart from the engine proper.

``explain``: activation and loss curves with their derivatives (``jax.grad``), and
the verdict on a gradient ratio. ``backprop``: every number of one backpropagation
step of a small sigmoid network, written out as a student would on paper.

May import: the ground floor and ``engine.blocks``.
"""
