"""Which device the engine runs on, for the sidebar badge."""

from __future__ import annotations

import streamlit as st


@st.cache_resource(show_spinner=False)
def device_summary() -> str:
    """A short description of JAX's default device, e.g. ``"CPU (1 device)"``."""
    import jax

    devices = jax.devices()
    kind = devices[0].platform.upper()
    name = getattr(devices[0], "device_kind", "") or kind
    plural = "s" if len(devices) != 1 else ""
    label = kind if name.upper() == kind else f"{kind} - {name}"
    return f"{label} ({len(devices)} device{plural})"


def device_badge() -> None:
    """Show the device badge in the current container (the sidebar in the entry)."""
    st.caption(f"Engine: JAX on **{device_summary()}**")
