"""Hand-written maths of the explorer pages, apart from the engine proper.

``explain``: activation and loss curves with their derivatives (``jax.grad``), and
the verdict on a gradient ratio. ``backprop``: every number of one backpropagation
step of a small sigmoid network, written out as a student would on paper.
``surfaces``: analytic 2-D loss surfaces and every optimizer's path on them, for the
optimizer race (optax's own update rules; also reads ``engine.spec``'s defaults).

May import: the ground floor, ``engine.blocks`` and ``engine.spec``.
"""
