"""``streamlit run dashboard [-- --runs DIR]``: navigation and the controls all pages share.

Pages (``views/``) only lay out; they read through ``dashboard.data`` (cached
loaders over the run store) and draw with the pure builders of
``dashboard.curves``/``dashboard.charts``.  The server listens on 127.0.0.1
(``.streamlit/config.toml`` beside this file); see the README to share it.
"""

from __future__ import annotations

import streamlit as st

from dashboard import state

# An emoji, not ":material/...": Streamlit turns an emoji into a data: URL, but fetches a Material
# icon favicon from fonts.gstatic.com -- and nothing here should leave the machine.
st.set_page_config(page_title="epochscope", page_icon="📈", layout="wide")

PAGES = [
    st.Page("views/runs.py", title="Runs", icon=":material/table_rows:", default=True),
    st.Page("views/hparams.py", title="Hyperparameters", icon=":material/tune:", url_path="hparams"),
    st.Page("views/cost.py", title="Cost & time", icon=":material/payments:", url_path="cost"),
    st.Page("views/run.py", title="Run details", icon=":material/description:", url_path="run"),
    st.Page("views/upload.py", title="Upload logs", icon=":material/upload_file:", url_path="upload"),
]

page = st.navigation(PAGES)
state.sidebar()
page.run()
