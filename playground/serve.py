"""Start the app with its warm-up: ``python -m playground.serve [streamlit options]``.

The same as ``streamlit run streamlit_app.py``, except that each live page's default
network starts compiling in the background as the server starts (``core.warmup``), in
this very process, so that the first visitor's Play answers at once. (``streamlit run``
alone, as on Streamlit Community Cloud, starts the warm-up at the first visit instead.)
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"


def main(argv: list[str]) -> None:
    from streamlit.web import cli

    from playground.core import channel, compile_cache, warmup, xla_flags

    # Streamlit takes an app with a pages/ folder for a v1 multipage app until its first
    # run calls st.navigation: the first visitor of a fresh server saw the folder's file
    # names ("lab", "streamlit app") in the sidebar first. The entry script navigates
    # itself (Streamlit internals, checked with 1.67; ``streamlit run`` alone still
    # shows them once per process).
    try:
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
    except ImportError:
        pass

    channel.install()  # frames after a run's first bypass Streamlit's message path
    xla_flags.apply()  # before the warm-up's first computation
    compile_cache.enable()
    warmup.start_app()
    sys.argv = ["streamlit", "run", str(APP), *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
