"""NN Playground: the entry point (``streamlit run streamlit_app.py``)."""

import streamlit as st

from playground import lesson_bar
from playground.core import compile_cache, warmup, xla_flags
from playground.core.device import device_badge

xla_flags.apply()  # before JAX's first computation in this process; then a no-op
compile_cache.enable()  # networks compiled once load from disk next time
if st.runtime.exists():  # a server (or AppTest's mock one: the tests turn it off by env)
    warmup.start_app()  # no-op once started

# A projector's presentation mode folds the sidebar (the arrow at the top left opens it).
# An emoji icon: Streamlit draws it in the page itself, where a :material/...: icon is
# fetched from fonts.gstatic.com (a failed request on every page of an offline classroom).
st.set_page_config(page_title="NN Playground", page_icon="🧠", layout="wide",
                   initial_sidebar_state="collapsed" if lesson_bar.presenting() else "auto")

# Keyed by the lesson page ids (engine.lessons.PAGES): a lesson's steps open these.
PAGES = {
    "playground": st.Page("pages/lab.py", title="Playground", icon=":material/scatter_plot:",
                          default=True),
    "explore": st.Page("pages/explore.py", title="Activations and losses",
                       icon=":material/show_chart:"),
    "backprop": st.Page("pages/backprop.py", title="Backprop, step by step",
                        icon=":material/calculate:"),
    "flow": st.Page("pages/flow.py", title="Gradient flow", icon=":material/waterfall_chart:"),
    "sequences": st.Page("pages/sequences.py", title="Sequences and attention",
                         icon=":material/view_timeline:"),
    "images": st.Page("pages/images.py", title="Images and CNNs", icon=":material/image:"),
    "text": st.Page("pages/text.py", title="Pretrained attention", icon=":material/translate:"),
    "race": st.Page("pages/race.py", title="Optimizer race", icon=":material/sprint:"),
    "paths": st.Page("pages/paths.py", title="Optimizer paths", icon=":material/route:"),
    "search": st.Page("pages/search.py", title="Hyperparameter search",
                      icon=":material/manage_search:"),
    "rl": st.Page("pages/rl.py", title="Reinforcement learning", icon=":material/smart_toy:"),
}
# Every page listed (Streamlit folds a list of more than ten behind "View more", and a
# teacher should see Lessons at once).
page = st.navigation([
    *PAGES.values(),
    st.Page("pages/lessons.py", title="Lessons", icon=":material/school:"),
    st.Page("pages/home.py", title="Presets and engine", icon=":material/home:"),
], expanded=True)
# A menu's open list is as wide as its longest entry (up to 36rem), not its box: the
# sidebar's preset menus cut titles such as "Healthy gradients: He initialisation with
# ReLU" (the closed box ends them with an ellipsis; the text under Load names it whole).
st.html("""<style>
[data-testid="stSelectboxVirtualDropdown"] { width: max-content !important;
  min-width: var(--trigger-width); max-width: min(36rem, 92vw); }
[data-testid="stSelectbox"] input { text-overflow: ellipsis; }
</style>""")
lesson_bar.register_pages(PAGES)
lesson_bar.from_link()  # ?lesson=...&step=...
lesson_bar.card()
with st.sidebar:
    device_badge()
    st.caption("NN Playground - open source, runs on JAX.")
page.run()
