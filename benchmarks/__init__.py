"""Speed and memory benchmarks, and the plain NumPy reference the engine is checked against."""
