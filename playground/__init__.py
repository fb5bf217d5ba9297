"""Streamlit components of NN Playground: state, widgets, charts, the live loop.

Pages call these; these call ``engine``. Nothing here does math of its own.
"""
