"""NN Playground: the entry point (``streamlit run streamlit_app.py``)."""

import streamlit as st

from playground.core import compile_cache, warmup
from playground.core.device import device_badge

compile_cache.enable()  # networks compiled once load from disk next time
if st.runtime.exists():  # a server (or AppTest's mock one: the tests turn it off by env)
    warmup.start(warmup.pages_of_the_app())  # no-op once started

st.set_page_config(page_title="NN Playground", page_icon=":material/hub:", layout="wide")

page = st.navigation([
    st.Page("pages/lab.py", title="Playground", icon=":material/scatter_plot:",
            default=True),
    st.Page("pages/explore.py", title="Activations and losses", icon=":material/show_chart:"),
    st.Page("pages/backprop.py", title="Backprop, step by step", icon=":material/calculate:"),
    st.Page("pages/flow.py", title="Gradient flow", icon=":material/waterfall_chart:"),
    st.Page("pages/sequences.py", title="Sequences and attention", icon=":material/view_timeline:"),
    st.Page("pages/images.py", title="Images and CNNs", icon=":material/image:"),
    st.Page("pages/race.py", title="Optimizer race", icon=":material/sprint:"),
    st.Page("pages/paths.py", title="Optimizer paths", icon=":material/route:"),
    st.Page("pages/search.py", title="Hyperparameter search", icon=":material/manage_search:"),
    st.Page("pages/home.py", title="Presets and engine", icon=":material/home:"),
])
with st.sidebar:
    device_badge()
    st.caption("NN Playground - open source, runs on JAX.")
page.run()
